#include "rebalance/core/output_paths.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>

#include "rebalance/core/error.hpp"

namespace rebalance {

namespace fs = std::filesystem;

namespace {

struct Identity {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  bool is_dir = false;
  std::string canonical;  ///< absolute, symlinks of existing parts resolved

  bool same(const Identity& o) const {
    if (exists && o.exists) return dev == o.dev && ino == o.ino;
    return canonical == o.canonical;
  }
};

Identity identify(const std::string& path) {
  Identity id;
  std::error_code ec;
  id.canonical = fs::weakly_canonical(fs::absolute(path, ec), ec).lexically_normal().string();
  if (ec) id.canonical = fs::absolute(path).lexically_normal().string();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    id.exists = true, id.dev = st.st_dev, id.ino = st.st_ino, id.is_dir = S_ISDIR(st.st_mode);
  }
  return id;
}

/// `inner` lies strictly inside the folder `outer` (canonical paths).
bool inside(const std::string& inner, const std::string& outer) {
  const fs::path a(inner), b(outer);
  auto i = a.begin();
  for (auto j = b.begin(); j != b.end(); ++j, ++i)
    if (i == a.end() || *i != *j) return false;
  return i != a.end();
}

/// Creates and removes a probe file in `dir`; the reason it could not, or nothing.
std::optional<std::string> probe(const fs::path& dir) {
  std::random_device rd;
  const fs::path p = dir / (".rebalance-probe-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return std::string(std::strerror(errno));
  ::close(fd);
  ::unlink(p.c_str());
  return std::nullopt;
}

void check_writable(const NamedPath& out, const Identity& id) {
  const fs::path abs = fs::absolute(out.path);
  if (out.directory) {
    REBALANCE_CHECK(!id.exists || id.is_dir, "{} {}: is a file, not a folder", out.option, out.path);
    fs::path dir = id.exists ? abs : abs.parent_path();
    std::error_code ec;
    while (!dir.empty() && !fs::exists(dir, ec) && dir != dir.parent_path()) dir = dir.parent_path();
    if (const auto why = probe(dir)) REBALANCE_THROW("cannot write {} {}: {}: {}", out.option, out.path, dir.string(), *why);
    return;
  }
  REBALANCE_CHECK(!id.exists || !id.is_dir, "{} {}: is a folder; give a file name", out.option, out.path);
  const fs::path dir = abs.parent_path();
  std::error_code ec;
  REBALANCE_CHECK(fs::is_directory(dir, ec), "cannot write {} {}: the folder {} does not exist", out.option, out.path,
                  dir.string());
  if (const auto why = probe(dir)) REBALANCE_THROW("cannot write {} {}: {}", out.option, out.path, *why);
}

}  // namespace

void check_outputs(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs) {
  std::vector<std::pair<const NamedPath*, Identity>> ins, outs;
  for (const auto& in : inputs)
    if (!in.path.empty()) {
      auto id = identify(in.path);
      if (id.exists) ins.emplace_back(&in, std::move(id));
    }
  for (const auto& out : outputs) {
    if (out.path.empty()) continue;
    auto id = identify(out.path);
    for (const auto& [in, iid] : ins) {
      REBALANCE_CHECK(!id.same(iid), "{} {} is the input {} {} (the same file): rebalance never writes over what it "
                      "reads; choose another output path", out.option, out.path, in->option, in->path);
      REBALANCE_CHECK(!(iid.is_dir && inside(id.canonical, iid.canonical)), "{} {} lies inside the input folder {} {}: "
                      "write outputs outside the data they are made from", out.option, out.path, in->option, in->path);
    }
    for (const auto& [other, oid] : outs)
      REBALANCE_CHECK(!id.same(oid), "{} {} and {} {} are the same file: each output needs a path of its own",
                      other->option, other->path, out.option, out.path);
    check_writable(out, id);
    outs.emplace_back(&out, std::move(id));
  }
}

namespace {

bool keep_byte(unsigned char c) {
  if (c >= 0x80) return true;  // UTF-8 sequences stay readable
  if (c < 0x20 || c == 0x7F) return false;
  return std::strchr("/\\:%*?\"<>|", c) == nullptr;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string label_folder(const std::string& label) {
  if (label.empty()) return "%";
  const bool dots = label.find_first_not_of('.') == std::string::npos;
  std::string out;
  for (const unsigned char c : label) {
    if (keep_byte(c) && !(dots && c == '.'))
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", static_cast<unsigned>(c));
  }
  REBALANCE_CHECK(out.size() <= 255, "class \"{}\" is too long for a folder name ({} bytes as \"{}...\"; at most 255)",
                  label.substr(0, 40), out.size(), out.substr(0, 40));
  return out;
}

std::string folder_label(const std::string& folder) {
  if (folder == "%") return "";
  std::string out;
  for (size_t i = 0; i < folder.size(); ++i) {
    if (folder[i] != '%') {
      out += folder[i];
      continue;
    }
    const int hi = i + 2 < folder.size() ? hex_value(folder[i + 1]) : -1;
    const int lo = i + 2 < folder.size() ? hex_value(folder[i + 2]) : -1;
    REBALANCE_CHECK(hi >= 0 && lo >= 0, "folder name \"{}\": '%' at byte {} is not followed by two hex digits", folder,
                    i);
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace rebalance
