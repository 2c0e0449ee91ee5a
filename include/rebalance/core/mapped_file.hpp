// A read-only view of a whole file: memory-mapped when the file is a regular file, read into
// memory otherwise (pipes, /dev/stdin). No libtorch: the parsers built on it are fuzzed alone.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace rebalance {

class MappedFile {
 public:
  /// Map `path`; Error naming the path if it is missing, a directory or unreadable. A stream
  /// (FIFO, /dev/stdin) is read whole on the first open and the same bytes returned by later ones.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  /// Hold `bytes` (for parsers fed from memory: tests and fuzzers).
  static std::shared_ptr<const MappedFile> from_bytes(std::string bytes);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const char* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::string owned_;
  std::string path_;
};

}  // namespace rebalance
