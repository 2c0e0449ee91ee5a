// CSV files with a header row: numeric features plus one label column, read with errors that name
// the line, column and value, and written atomically.
#pragma once

#include <string>
#include <vector>

#include "rebalance/data/dataset.hpp"

namespace rebalance {

struct CsvOptions {
  /// Label column by header name or 0-based index; empty means the last column.
  std::string label;
  char delimiter = ',';
  /// Categorical (non-numeric) feature columns are reported as an error by default; with
  /// `ordinal` each is encoded as integer codes 0..K-1 of its sorted distinct values.
  bool categorical_ordinal = false;
  /// Columns to ignore, by name or 0-based index.
  std::vector<std::string> drop;
  /// Fewer distinct labels than this is an error (a single class has nothing to rebalance).
  int min_classes = 2;
};

/// What the reader found besides the data.
struct CsvInfo {
  std::vector<int64_t> categorical_features;          ///< feature indices encoded as codes
  std::vector<std::vector<std::string>> categories;   ///< their categories, code order
};

/// Read `path`. Labels become classes 0..C-1 in sorted order (numeric order when every label is a
/// number), as scikit-learn's LabelEncoder does; class names keep the label text. Errors name the
/// file, line, column and value: ragged rows, missing or non-numeric values, NaN/Inf, an unknown
/// label column, categorical columns (unless `categorical_ordinal`), too few classes.
Dataset read_csv(const std::string& path, const CsvOptions& options = {}, CsvInfo* info = nullptr);

/// Write features and a label column (class names as values) with a header, atomically.
void write_csv(const std::string& path, const Dataset& data, const std::string& label_name = "label");

}  // namespace rebalance
