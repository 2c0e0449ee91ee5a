// Data larger than memory: labelled rows read block by block from a .npy matrix through
// memory-mapped windows (never the whole file at once), rows written block by block into .npy
// outputs that appear only when complete, and the promise that an input does not change under a
// run. The out-of-core samplers (sampling/out_of_core.hpp) are built on these.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rebalance {

/// What identifies a file's content for the length of a run: size, modification time, inode.
struct FileStamp {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t inode = 0;
  uint64_t device = 0;
  bool operator==(const FileStamp&) const = default;
};
/// Error naming the path if it cannot be stat'ed.
FileStamp stamp_file(const std::string& path);
/// Error "PATH changed during the run (...)" when the file is no longer what `was` describes:
/// resized, rewritten (modification time) or replaced (inode).
void check_unchanged(const std::string& path, const FileStamp& was);

/// Copy bytes [offset, offset + bytes) of `path` to `dst` through read-only mappings of at most
/// 8 MiB at a time, after checking the file is still the one `stamp` describes; a file that
/// changed, or shrank under a mapping (SIGBUS, caught), is an Error "PATH changed during the run".
void read_mapped(const std::string& path, const FileStamp& stamp, size_t offset, size_t bytes, void* dst);

/// Labelled rows read in order, a block at a time. Opening reads the labels once (their classes
/// and counts); every later pass reads features and labels block by block, checking before each
/// block that the files are the ones the run began with.
class RowSource {
 public:
  virtual ~RowSource() = default;
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  at::ScalarType dtype() const { return dtype_; }  ///< float32 or float64
  const std::vector<std::string>& class_names() const { return class_names_; }
  const std::vector<int64_t>& class_counts() const { return class_counts_; }
  /// Bytes of one row of features.
  int64_t row_bytes() const;
  /// Memory one row costs while its block is read (the default block is 64 MiB of these).
  virtual int64_t block_bytes_per_row() const { return row_bytes(); }

  /// fn(first, x, y) for consecutive blocks of at most `block_rows` rows: x [B, D] in dtype(),
  /// y [B] int64 classes 0..C-1, first the source position of the block's first row. Features are
  /// checked to be finite (Error naming the file, row and column). x and y hold their values for
  /// the call only: the next block is read into the same memory (copy what you keep), so a pass
  /// holds one block whatever the input's size.
  using BlockFn = std::function<void(int64_t first, const at::Tensor& x, const at::Tensor& y)>;
  virtual void for_each_block(int64_t block_rows, const BlockFn& fn) const = 0;
  /// "X.npy (labels y.npy)": how errors and logs name the input.
  virtual std::string describe() const = 0;

  /// The rows of each class in `classes`, gathered in one pass: per class its features [n_c, D]
  /// (source order) and source positions (ascending). Memory: those rows and one block.
  struct Gathered {
    at::Tensor x;
    std::vector<int64_t> rows;
  };
  std::vector<Gathered> gather_classes(const std::vector<int64_t>& classes, int64_t block_rows) const;
  /// Rows at ascending source positions `rows`, in one pass ([M, D]).
  at::Tensor gather_rows(const std::vector<int64_t>& rows, int64_t block_rows) const;

 protected:
  int64_t rows_ = 0, cols_ = 0;
  at::ScalarType dtype_ = at::kFloat;
  std::vector<std::string> class_names_;
  std::vector<int64_t> class_counts_;
};

/// Features X.npy ([N, D] float32 or float64, C order) and labels ([N] int64, int32, uint8 or
/// bool), both read through windows of the file mapped one block at a time. Classes are the
/// labels' distinct values in numeric order, named as read_npy_labels names them.
class NpyRowSource final : public RowSource {
 public:
  NpyRowSource(std::string features_path, std::string labels_path);
  void for_each_block(int64_t block_rows, const BlockFn& fn) const override;
  std::string describe() const override;
  /// The labels' dtype ('<i8', ...) and each class's value in it, to write labels back as read.
  const std::string& label_descr() const { return label_descr_; }
  const std::vector<int64_t>& class_values() const { return class_values_; }
  const std::string& features_path() const { return x_path_; }

 private:
  /// Label values of rows [first, first + n) as int64.
  void read_labels(int64_t first, int64_t n, int64_t* out) const;

  std::string x_path_, y_path_, label_descr_;
  size_t x_offset_ = 0, y_offset_ = 0;
  int y_width_ = 8;
  FileStamp x_stamp_, y_stamp_;
  std::vector<int64_t> class_values_;  ///< sorted distinct label values
};

namespace csv {
struct Table;
}
struct CsvOptions;
class RowSink;

/// A CSV/TSV file read a block of rows at a time, sequentially, through mapped windows: each block
/// is parsed by the in-memory reader (csv::parse, so numbers, quotes and errors are exactly as
/// there; error lines are the file's own), features as float64. Opening reads the file once for
/// the classes (sorted as read_csv sorts them) and their counts. Features must be numeric
/// (categorical columns are refused: out of core, every block would need the whole vocabulary).
class CsvRowSource final : public RowSource {
 public:
  CsvRowSource(std::string path, const CsvOptions& options);
  ~CsvRowSource() override;
  void for_each_block(int64_t block_rows, const BlockFn& fn) const override;
  std::string describe() const override { return path_; }
  /// Text, its copy for the parser and the parsed rows: about four times the float64 row.
  int64_t block_bytes_per_row() const override { return 4 * row_bytes(); }

  /// The block being visited (valid inside for_each_block's callback): its parsed table, whose
  /// rows are the block's rows in order, for writers that copy rows byte for byte.
  const csv::Table& current_block() const;
  /// The file's header as read (a table of the first rows): names, roles, delimiter, line ends.
  const csv::Table& schema() const;
  /// Each class's label as first written in the file (raw cell text), for new rows.
  const std::vector<std::string>& class_raw() const { return class_raw_; }
  const std::string& path() const { return path_; }

 private:
  /// Blocks of raw rows parsed with `options_`: fn(first row, table).
  void scan(int64_t block_rows, const std::function<void(int64_t, const csv::Table&)>& fn) const;

  std::string path_;
  std::unique_ptr<CsvOptions> options_;
  FileStamp stamp_;
  std::string header_;  ///< raw header line with its line end, no BOM
  uint64_t body_ = 0;   ///< first byte after the header line
  int64_t body_line_ = 0;  ///< 1-based physical line of body_
  std::unique_ptr<csv::Table> schema_;
  std::vector<std::string> class_raw_;
  mutable const csv::Table* current_ = nullptr;
};

/// The CSV output of a CsvRowSource, in its schema as write_csv writes it (header, delimiter, line
/// ends, BOM, dropped columns left out; original rows byte for byte; new rows with the shortest
/// round-trip numbers, labels in the file's own spelling, empty passthrough cells), optionally
/// with provenance columns. Rows are written in output order; rows put ahead of their turn wait in
/// memory (only RandomUnderSampler puts rows out of order, and it keeps few).
std::unique_ptr<RowSink> make_csv_sink(const CsvRowSource& source, const std::string& path,
                                       bool provenance_columns);

/// A .npy array written in pieces: created as PATH.tmp-PID-N at its full size, rows written at
/// their positions in any order, renamed over PATH by commit(); destroyed uncommitted (an error on
/// the way), the temporary is removed and PATH keeps what it held. Write errors (a full disk) are
/// Errors naming PATH and the reason.
class NpyWriter {
 public:
  /// `shape`'s first dimension counts rows; a row is the product of the rest times the item size.
  NpyWriter(std::string path, std::string descr, std::vector<int64_t> shape);
  ~NpyWriter();
  NpyWriter(const NpyWriter&) = delete;
  NpyWriter& operator=(const NpyWriter&) = delete;

  /// Rows [row, row + count) from `data` (count x row bytes).
  void write_rows(int64_t row, const void* data, int64_t count);
  /// fsync and close (the rename waits for publish(), so several files appear together).
  void finish();
  /// Rename the finished temporary over PATH.
  void publish();
  const std::string& path() const { return path_; }
  int64_t row_bytes() const { return row_bytes_; }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  size_t header_ = 0;
  int64_t rows_ = 0, row_bytes_ = 0;
  bool published_ = false;
};

/// Where an out-of-core sampler puts its output rows, each at its final position.
class RowSink {
 public:
  virtual ~RowSink() = default;
  /// The output's row count, known before any row is put.
  virtual void begin(int64_t total_rows) = 0;
  /// Rows `local[i]` of a source block (first source row `first`, features x, classes y) go to
  /// output rows `slots[i]`, byte for byte.
  virtual void put_original(int64_t first, const at::Tensor& x, const at::Tensor& y, const std::vector<int64_t>& local,
                            const std::vector<int64_t>& slots) = 0;
  /// New rows x ([m, D], the source's dtype) of class `cls` at output rows slot .. slot + m - 1,
  /// made from source rows parent0[i] / parent1[i] (-1: none; parent1 may be empty). As for
  /// put_original, x is only valid during the call.
  virtual void put_new(int64_t slot, const at::Tensor& x, int64_t cls, const std::vector<int64_t>& parent0,
                       const std::vector<int64_t>& parent1) = 0;
  /// Every row has been put: make the output appear.
  virtual void commit() = 0;
};

/// The .npy output of an NpyRowSource: features (the input's dtype), labels (the input labels'
/// values and dtype) and, if `provenance_path` is given, [M, 3] int64 origin, parent0, parent1.
std::unique_ptr<RowSink> make_npy_sink(const NpyRowSource& source, const std::string& features_path,
                                       const std::string& labels_path, const std::string& provenance_path = "");

/// A sink that keeps everything in memory, as tensors (for tests: streaming equals in-memory).
struct MemoryRowSink final : RowSink {
  at::Tensor x, y, origin, parents;  ///< [M, D], [M], [M], [M, 2]
  at::ScalarType dtype = at::kFloat;
  int64_t cols = 0;
  MemoryRowSink(int64_t cols, at::ScalarType dtype) : dtype(dtype), cols(cols) {}
  void begin(int64_t total_rows) override;
  void put_original(int64_t first, const at::Tensor& x, const at::Tensor& y, const std::vector<int64_t>& local,
                    const std::vector<int64_t>& slots) override;
  void put_new(int64_t slot, const at::Tensor& x, int64_t cls, const std::vector<int64_t>& parent0,
               const std::vector<int64_t>& parent1) override;
  void commit() override {}
};

/// Rows per block for `row_bytes`-byte rows: `requested` if positive, else 64 MiB worth.
int64_t block_rows_for(int64_t row_bytes, int64_t requested);

}  // namespace rebalance
