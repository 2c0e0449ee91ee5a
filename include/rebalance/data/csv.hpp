// CSV files with a header row as Datasets: read with errors that name the line, column and
// value, and written back in the input's own schema (names, order, label in its place, original
// rows byte for byte), atomically.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rebalance/data/csv_table.hpp"
#include "rebalance/data/dataset.hpp"

namespace rebalance {

/// What the reader found besides the data.
struct CsvInfo {
  std::vector<int64_t> categorical_features;          ///< feature indices holding category codes
  std::vector<std::vector<std::string>> categories;   ///< their categories, code order
  std::vector<int64_t> text_features;                 ///< of those, the ones typed by text values
  std::shared_ptr<const csv::Table> table;            ///< the file as read, for write_csv
};

/// Read `path` (see csv::read). x is float64 [N, D] (features in column order, the label and
/// passthrough/dropped columns left out). Labels become classes 0..C-1 in sorted order
/// (numeric order when every label is a number), as scikit-learn's LabelEncoder does; class
/// names keep the label text.
Dataset read_csv(const std::string& path, const CsvOptions& options = {}, CsvInfo* info = nullptr);
/// The Dataset of an already parsed table.
Dataset dataset_from_table(const csv::Table& table, CsvInfo* info = nullptr);

struct CsvWriteOptions {
  /// Append columns origin, parent0, parent1: the source row (0-based data row of the input, -1
  /// for a synthetic row) and the rows a synthetic row was made from (-1: none).
  bool provenance_columns = false;
};

/// Write `data` in the schema of the file it came from: the same header, columns and order,
/// delimiter, line ends and byte-order mark. Rows with origin >= 0 are the input's rows byte for
/// byte; synthetic rows have features with the shortest round-trip text of their dtype,
/// categories and labels in the input's own spelling, and empty passthrough cells.
void write_csv(const std::string& path, const Dataset& data, const csv::Table& source,
               const CsvWriteOptions& options = {});

/// Write features and a label column (class names as values) with a header, atomically: for data
/// that did not come from a CSV. Numbers as the shortest text that round-trips in x's dtype.
void write_csv(const std::string& path, const Dataset& data, const std::string& label_name = "label",
               const CsvWriteOptions& options = {});

}  // namespace rebalance
