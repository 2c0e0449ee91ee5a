// Every input the fuzzers ever crashed on (fuzz/regressions/<target>/) and every seed
// (fuzz/corpus/<target>/), replayed through the same harness the libFuzzer binaries run
// (fuzz/harness.hpp): each must be refused with rebalance::Error or accepted with its invariants
// intact. In the sanitizer build (scripts/sanitize) this also replays them under ASan + UBSan.
#include <gtest/gtest.h>

#include <algorithm>
#include <cxxabi.h>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../../fuzz/harness.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kFuzzDir = fs::path(REBALANCE_TEST_DIR) / ".." / "fuzz";

std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string().rfind("README", 0) != 0) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string exception_type() {
  const std::type_info* t = abi::__cxa_current_exception_type();
  if (!t) return "unknown";
  int status = 0;
  char* n = abi::__cxa_demangle(t->name(), nullptr, nullptr, &status);
  std::string out = status == 0 && n ? n : t->name();
  std::free(n);
  return out;
}

class FuzzReplay : public ::testing::TestWithParam<std::string> {};

TEST_P(FuzzReplay, RegressionsAndSeedsAreRefusedOrValid) {
  const auto& target = rebalance::fuzz::target(GetParam());
  auto files = files_under(kFuzzDir / "regressions" / GetParam());
  const auto regressions = files.size();
  const auto seeds = files_under(kFuzzDir / "corpus" / GetParam());
  files.insert(files.end(), seeds.begin(), seeds.end());
  ASSERT_FALSE(seeds.empty()) << "no seed corpus in " << (kFuzzDir / "corpus" / GetParam());
  int accepted = 0;
  for (const auto& f : files) {
    try {
      accepted += target.run(slurp(f)) == rebalance::fuzz::Verdict::Accepted;
    } catch (const std::exception& e) {
      ADD_FAILURE() << f << ": " << exception_type() << ": " << e.what();
    } catch (...) {
      ADD_FAILURE() << f << ": " << exception_type();
    }
  }
  // The seeds are real inputs: most of them must load, or the fuzzer starts from nothing.
  EXPECT_GT(accepted, 0) << GetParam() << ": no file accepted (" << regressions << " regressions, "
                         << seeds.size() << " seeds)";
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplay,
                         ::testing::Values("csv", "npy", "idx", "mnist_json", "config", "spec", "model"),
                         [](const auto& info) { return info.param; });

TEST(FuzzReplay, EveryTargetHasASeedCorpusAndNoStrayFolder) {
  for (const auto& t : rebalance::fuzz::kTargets)
    EXPECT_TRUE(fs::is_directory(kFuzzDir / "corpus" / std::string(t.name))) << t.name;
  for (const char* area : {"corpus", "regressions"}) {
    if (!fs::is_directory(kFuzzDir / area)) continue;
    for (const auto& e : fs::directory_iterator(kFuzzDir / area)) {
      if (!e.is_directory()) continue;
      EXPECT_NO_THROW(rebalance::fuzz::target(e.path().filename().string()))
          << area << "/" << e.path().filename() << " names no fuzz target: its files would never be replayed";
    }
  }
}

}  // namespace
