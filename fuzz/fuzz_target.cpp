// The libFuzzer entry point of every target, compiled once: the binary's name, fuzz_<target>
// ("fuzz_csv", "fuzz_spec", ...), picks the target in fuzz/harness.hpp. rebalance::Error is the
// expected refusal; any other exception escaping the harness is reported with its type and
// message, then aborts, so libFuzzer keeps the input as a crash.
#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>

#include "harness.hpp"

namespace {

const rebalance::fuzz::Target* the_target = nullptr;

std::string current_exception_type() {
  const std::type_info* type = abi::__cxa_current_exception_type();
  if (!type) return "unknown";
  int status = 0;
  char* name = abi::__cxa_demangle(type->name(), nullptr, nullptr, &status);
  std::string out = status == 0 && name ? name : type->name();
  std::free(name);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  const std::string self = *argc > 0 ? std::filesystem::path((*argv)[0]).filename().string() : "";
  const std::string prefix = "fuzz_";
  try {
    the_target = &rebalance::fuzz::target(self.rfind(prefix, 0) == 0 ? self.substr(prefix.size()) : self);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s (name the binary fuzz_<target>)\n", self.c_str(), e.what());
    std::exit(2);
  }
  // One thread: deterministic, and libFuzzer's exec/s measures the parser, not a thread pool.
  at::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    the_target->run(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\n==fuzz %s: uncaught %s: %s\n", the_target->name.data(), current_exception_type().c_str(),
                 e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "\n==fuzz %s: uncaught %s\n", the_target->name.data(), current_exception_type().c_str());
    std::abort();
  }
  return 0;
}
