// CSV read and write speed of the library, for bench/io_speed.py (which runs numpy beside it).
//
//   rebalance_bench_io FILE.csv OUT_DIR [REPEAT]
//
// Prints one JSON object: the file's size and the fastest of REPEAT runs of
//   read_s           read_csv (parse to float64, labels, the Dataset)
//   write_s          write_csv formatting every value (shortest round-trip text), as numpy.savetxt does
//   write_source_s   write_csv in the input's schema (original rows copied as they were read)
#include <chrono>
#include <filesystem>
#include <iostream>
#include <limits>

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "rebalance/core/system.hpp"
#include "rebalance/data/csv.hpp"

using namespace rebalance;

template <typename F>
double fastest(int repeat, F&& f) {
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: rebalance_bench_io FILE.csv OUT_DIR [REPEAT]\n";
    return 2;
  }
  configure_threads();  // every hardware thread, as the CLI does
  const std::string path = argv[1], out_dir = argv[2];
  const int repeat = argc > 3 ? std::stoi(argv[3]) : 5;
  Dataset d;
  CsvInfo info;
  const double read_s = fastest(repeat, [&] { d = read_csv(path, {}, &info); });
  const auto out = (std::filesystem::path(out_dir) / "bench_io_out.csv").string();
  const double write_s = fastest(repeat, [&] { write_csv(out, d, "label"); });
  const auto written = std::filesystem::file_size(out);
  const double source_s = fastest(repeat, [&] { write_csv(out, d, *info.table); });
  std::cout << fmt::format(
      "{{\"bytes\": {}, \"rows\": {}, \"features\": {}, \"threads\": {}, \"read_s\": {}, \"write_s\": {}, "
      "\"write_bytes\": {}, \"write_source_s\": {}}}\n",
      std::filesystem::file_size(path), d.size(), d.num_features(), at::get_num_threads(), read_s, write_s, written,
      source_s);
  std::filesystem::remove(out);
  return 0;
}
