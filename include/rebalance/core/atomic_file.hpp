// Crash-safe output: every file rebalance writes goes to a temporary file beside the target and is
// renamed over it only once complete, so a crash or a full disk never leaves half a file behind.
// Several files that make one result (features, labels, provenance) can be committed together.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace rebalance {

/// Call `write` with a stream on a temporary file next to `path` (PATH.tmp-PID-RANDOM); once it
/// returns, flush, fsync and close it, checking each, and rename it to `path`. Any failure (a full
/// disk, a file size limit, an error from fsync or close, an exception from `write`) removes the
/// temporary file, leaves `path` as it was and throws Error "cannot write PATH: REASON" (e.g.
/// "No space left on device"). Inside an AtomicFileGroup the rename waits for the group's commit.
/// `binary` is kept for callers; the bytes are written as given either way.
void write_atomic(const std::string& path, const std::function<void(std::ostream&)>& write,
                  bool binary = true);

/// All-or-nothing output of several files. While a group is alive, write_atomic on this thread
/// stages each file as its temporary and renames nothing; commit() renames them all, and a group
/// destroyed without commit (an exception on the way) removes its temporaries, so every target
/// keeps its previous content. Groups do not merge: write_atomic uses the innermost one.
///
///   AtomicFileGroup files;
///   write_npy(out, x);  write_npy(labels, y);   // staged
///   files.commit();                              // both appear, or (on a throw above) neither
class AtomicFileGroup {
 public:
  AtomicFileGroup();
  ~AtomicFileGroup();
  AtomicFileGroup(const AtomicFileGroup&) = delete;
  AtomicFileGroup& operator=(const AtomicFileGroup&) = delete;

  /// Rename every staged file into place, in the order written.
  void commit();

 private:
  friend void write_atomic(const std::string&, const std::function<void(std::ostream&)>&, bool);
  std::vector<std::pair<std::string, std::string>> staged_;  ///< (temporary, target)
  AtomicFileGroup* outer_;
};

/// Whole file as bytes; Error naming the path if it is missing or unreadable.
std::string read_file(const std::string& path);

}  // namespace rebalance
