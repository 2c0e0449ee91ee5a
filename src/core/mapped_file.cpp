#include "rebalance/core/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "rebalance/core/error.hpp"

namespace rebalance {

namespace {

// A stream (a FIFO, /dev/stdin) can be read once only, and a reader may look at a file's first
// bytes before parsing it: its bytes are kept, so every later open of the same path in this process
// sees the whole stream again (and does not block reopening a FIFO whose writer is gone).
std::mutex streams_mutex;
std::map<std::string, std::shared_ptr<const MappedFile>> streams;

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  struct stat pre {};
  const bool stream = ::stat(path.c_str(), &pre) == 0 && !S_ISREG(pre.st_mode) && !S_ISDIR(pre.st_mode);
  std::unique_lock<std::mutex> lock(streams_mutex, std::defer_lock);
  if (stream) {
    lock.lock();
    if (const auto it = streams.find(path); it != streams.end()) return it->second;
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REBALANCE_CHECK(fd >= 0, "{}: {}", path, errno == ENOENT ? "no such file" : std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    REBALANCE_THROW("{}: cannot stat: {}", path, std::strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    REBALANCE_THROW("{}: is a directory, expected a file", path);
  }
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (p != MAP_FAILED) {
      ::madvise(p, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
      f->data_ = static_cast<const char*>(p);
      f->size_ = static_cast<size_t>(st.st_size);
      f->mapped_ = true;
      ::close(fd);
      return f;
    }
  }
  // Not mappable (empty, a pipe, a special file): read it.
  char buf[1 << 16];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const int e = errno;
      ::close(fd);
      REBALANCE_THROW("{}: read failed: {}", path, std::strerror(e));
    }
    if (r == 0) break;
    f->owned_.append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  f->data_ = f->owned_.data();
  f->size_ = f->owned_.size();
  if (stream) streams[path] = f;
  return f;
}

std::shared_ptr<const MappedFile> MappedFile::from_bytes(std::string bytes) {
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->owned_ = std::move(bytes);
  f->data_ = f->owned_.data();
  f->size_ = f->owned_.size();
  f->path_ = "<memory>";
  return f;
}

MappedFile::~MappedFile() {
  if (mapped_) ::munmap(const_cast<char*>(data_), size_);
}

}  // namespace rebalance
