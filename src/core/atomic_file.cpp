#include "rebalance/core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "rebalance/core/error.hpp"

namespace rebalance {

void write_atomic(const std::string& path, const std::function<void(std::ostream&)>& write, bool binary) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  REBALANCE_CHECK(fs::is_directory(dir), "cannot write {}: directory {} does not exist", path, dir.string());
  const std::string tmp =
      fmt::format("{}.tmp-{}-{:x}", path, ::getpid(), std::random_device{}() & 0xffffff);
  try {
    {
      std::ofstream out(tmp, binary ? std::ios::binary | std::ios::trunc : std::ios::trunc);
      REBALANCE_CHECK(out.good(), "cannot write {}: {}", tmp, std::strerror(errno));
      write(out);
      out.flush();
      REBALANCE_CHECK(out.good(), "writing {} failed: {}", path, std::strerror(errno));
    }
    const int fd = ::open(tmp.c_str(), O_RDONLY);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
    std::error_code ec;
    fs::rename(tmp, target, ec);
    REBALANCE_CHECK(!ec, "cannot rename {} to {}: {}", tmp, path, ec.message());
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

std::string read_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  REBALANCE_CHECK(fs::exists(path, ec), "{}: no such file", path);
  REBALANCE_CHECK(!fs::is_directory(path, ec), "{}: is a directory, expected a file", path);
  std::ifstream in(path, std::ios::binary);
  REBALANCE_CHECK(in.good(), "{}: cannot open: {}", path, std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace rebalance
