// CSV/TSV files parsed without libtorch: the bytes stay mapped, every row keeps its raw text, and
// features are parsed to float64 in parallel (fast_float over line-aligned chunks), so that an
// output can give back every original row exactly as it was read.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rebalance {

class MappedFile;

struct CsvOptions {
  /// Label column by header name or 0-based index; empty means the last column.
  std::string label;
  /// Field separator; 0 picks it from the file name (tab for .tsv / .tab, else ',').
  char delimiter = 0;
  /// Text (non-numeric) feature columns are an error by default. `allow_categorical` keeps them
  /// as categorical features (SMOTENC / SMOTEN); `categorical_ordinal` encodes them as ordinal
  /// codes 0..K-1 for any sampler. Either way x holds the codes and the writer maps them back.
  bool allow_categorical = false;
  bool categorical_ordinal = false;
  /// Every feature column is numeric: a text cell is an error at its line and column, whatever
  /// the rest of the column holds (the out-of-core reader parses a block at a time and cannot
  /// judge a column by its majority).
  bool numeric_only = false;
  /// Columns (names or 0-based indices) that are categorical even if their values are numbers.
  std::vector<std::string> categorical;
  /// Columns to ignore: not features, not written back.
  std::vector<std::string> drop;
  /// Columns carried through untouched and unparsed (ids, timestamps): not features; original
  /// rows keep their values, synthetic rows leave them empty.
  std::vector<std::string> passthrough;
  /// Fewer distinct labels than this is an error (a single class has nothing to rebalance).
  int min_classes = 2;
  /// Parser threads; 0: OpenMP's maximum (every core, or REBALANCE_THREADS).
  int threads = 0;
};

/// A field separator as a user writes it: one character, or tab / comma / semicolon / space;
/// "" -> 0 (from the file name). Errors name `what` (the option or config key).
char parse_delimiter(const std::string& text, const std::string& what = "--delimiter");

namespace csv {

/// Byte range [begin, end) in the file.
struct Span {
  uint64_t begin = 0, end = 0;
};

enum class Role : uint8_t { Feature, Label, Passthrough, Dropped };

/// What a CSV file held, as read.
struct Table {
  std::string path;
  std::shared_ptr<const MappedFile> file;  ///< keeps `text` alive
  std::string_view text;                   ///< the whole file
  char delimiter = ',';
  bool bom = false;     ///< the file started with a UTF-8 byte-order mark
  bool crlf = false;    ///< lines end in CR LF
  bool quotes = false;  ///< some field is quoted

  Span header;                      ///< raw header line (after the BOM, without its line end)
  std::vector<Span> header_fields;  ///< raw header fields
  std::vector<std::string> names;   ///< column names, unquoted and trimmed
  std::vector<Role> roles;          ///< per column
  int64_t label_column = -1;
  std::vector<int64_t> feature_columns;  ///< feature j is column feature_columns[j]

  std::vector<Span> rows;  ///< raw data rows (without line ends), blank lines skipped
  /// [rows, features] float64, row-major: numbers, or category codes for categorical features.
  std::vector<double> x;
  std::vector<uint8_t> categorical;                   ///< per feature
  std::vector<std::vector<std::string>> categories;   ///< per feature, code order (empty: numeric)
  std::vector<std::vector<Span>> category_spans;      ///< raw text of each category's first cell
  std::vector<uint8_t> text_columns;                  ///< per feature: categorical because of text
  std::vector<std::string> class_names;               ///< sorted: numerically when all are numbers
  std::vector<Span> class_spans;                      ///< raw text of each class's first label cell
  std::vector<int64_t> y;                             ///< class of each row

  int64_t num_rows() const { return static_cast<int64_t>(rows.size()); }
  int64_t num_columns() const { return static_cast<int64_t>(names.size()); }
  int64_t num_features() const { return static_cast<int64_t>(feature_columns.size()); }
  std::string_view raw(Span s) const { return text.substr(s.begin, s.end - s.begin); }
  /// 1-based physical line holding byte `offset`.
  int64_t line_of(uint64_t offset) const;
  /// Raw field spans of a row, quote aware. Error (file, line) on a malformed quoted field.
  void split(Span row, std::vector<Span>& fields) const;
};

/// Parse a file. Errors name the file, line, column and value: ragged rows, missing values,
/// a stray word in a numeric column, inf/nan, overflow and underflow, integers past 2^53, an
/// unknown label column, text columns (unless allowed), too few classes.
Table read(const std::string& path, const CsvOptions& options = {});
/// The same from bytes in memory (`name` stands for the file in messages).
Table parse(std::shared_ptr<const MappedFile> file, const std::string& name, const CsvOptions& options = {});

/// The order of a label column's distinct values (scikit-learn's LabelEncoder): numerically when
/// every value is a number (equal numbers by text), else by text. Indices into `values`.
std::vector<size_t> label_order(const std::vector<std::string_view>& values);

/// A field's value: unquoted (doubled quotes undone) and, unless quoted, trimmed of blanks.
std::string unquote(std::string_view raw_field, char delimiter);

}  // namespace csv
}  // namespace rebalance
