// Outputs that lose nothing: before a command does any work, its output paths are checked against
// the files it reads and against each other (by file identity, not by spelling), and each output's
// folder is checked to be writable, so a mistyped -o never overwrites an input and a long run never
// ends in "cannot write" after its work is done.
#pragma once

#include <string>
#include <vector>

namespace rebalance {

/// A path a command reads or writes, with the option that named it ("--data", "--output", ...).
struct NamedPath {
  std::string option;
  std::string path;
  bool directory = false;  ///< an output folder (created by the command) rather than a file
};

/// Refuses (Error naming both options and paths), before any work:
///  - an output that is an input: the same file (device and inode, so links, "./x" and absolute
///    spellings are caught), or a path that resolves to one, or a path inside an input folder;
///  - two outputs that are the same file;
///  - an output file whose folder does not exist or cannot be written (a probe file is created
///    and removed), or whose path is an existing folder; an output folder under an unwritable one.
/// Empty paths and inputs that are not files (built-in data set names) are skipped.
void check_outputs(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs);

/// A class label as a folder name, one to one and reversible (folder_label undoes it): bytes that
/// a path cannot hold or that would leave the folder ('/', '\\', ':', '%', control characters,
/// "*?\"<>|") are written %XX, a name of dots only ("." or "..") has every dot written %2E, and the
/// empty label is "%". UTF-8 letters stay as they are. Error if the result exceeds 255 bytes.
std::string label_folder(const std::string& label);

/// The label a folder name from label_folder stands for. Error for a malformed %-sequence.
std::string folder_label(const std::string& folder);

}  // namespace rebalance
