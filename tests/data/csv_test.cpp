#include "rebalance/data/csv.hpp"

#include <torch/torch.h>

#include "../test_util.hpp"

using namespace rebalance;
using rebalance::testing::TempDir;

TEST(Csv, ReadsFeaturesLabelsAndClassNames) {
  TempDir dir;
  const auto path = dir.write("d.csv", "a,b,kind\n1,2.5,cat\n3,-4e-1,dog\r\n5,6,cat\n\n");
  const auto d = read_csv(path);
  EXPECT_EQ(d.size(), 3);
  EXPECT_EQ(d.num_features(), 2);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(torch::equal(d.y, torch::tensor({0, 1, 0}, torch::kInt64)));
  EXPECT_FLOAT_EQ(d.x[1][1].item<float>(), -0.4f);
  EXPECT_TRUE(torch::equal(d.origin, torch::arange(3)));
}

TEST(Csv, LabelByNameOrIndexAndNumericClassOrder) {
  TempDir dir;
  const auto path = dir.write("d.csv", "y,a,b\n10,1,2\n9,3,4\n10,5,6\n");
  const auto by_name = read_csv(path, {.label = "y"});
  EXPECT_EQ(by_name.class_names, (std::vector<std::string>{"9", "10"}));  // numeric, not text, order
  EXPECT_TRUE(torch::equal(by_name.y, torch::tensor({1, 0, 1}, torch::kInt64)));
  const auto by_index = read_csv(path, {.label = "0"});
  EXPECT_TRUE(torch::equal(by_index.x, by_name.x));
}

TEST(Csv, QuotedFieldsMayHoldDelimitersAndNewlines) {
  TempDir dir;
  const auto path = dir.write("q.csv", "x,\"the label\"\n1,\"a,b\"\n2,\"multi\nline\"\n3,\"a,b\"\n");
  const auto d = read_csv(path, {.label = "the label"});
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"a,b", "multi\nline"}));
}

TEST(Csv, WriteThenReadRoundTrips) {
  TempDir dir;
  auto d = Dataset::from_tensors(torch::tensor({{0.1f, 2.0f}, {3.25f, -1e-7f}, {5.0f, 6.0f}}),
                                 torch::tensor({1, 0, 1}), {"no", "yes, really"});
  write_csv(dir.file("o.csv"), d, "target");
  const auto back = read_csv(dir.file("o.csv"), {.label = "target"});
  // float32 values come back as the float64 of their shortest text, which rounds to the same float32.
  EXPECT_EQ(back.x.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::equal(back.x.to(torch::kFloat32), d.x));
  EXPECT_TRUE(torch::equal(back.y, d.y));
  EXPECT_EQ(back.class_names, d.class_names);
}

TEST(CsvErrors, MissingAndEmptyFiles) {
  TempDir dir;
  EXPECT_ERROR_MENTIONS(read_csv(dir.file("nope.csv")), "nope.csv", "no such file");
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("e.csv", "")), "e.csv", "empty file");
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("h.csv", "a,b\n")), "only a header");
}

TEST(CsvErrors, RaggedRowNamesTheLine) {
  TempDir dir;
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("r.csv", "a,b,y\n1,2,0\n3,1\n")), "r.csv:3", "ragged", "2 fields",
                        "header has 3");
}

TEST(CsvErrors, NonNumericValueNamesLineColumnAndValue) {
  TempDir dir;
  const auto path = dir.write("n.csv", "a,b,y\n1,2,0\n3,4,1\n5,x7,0\n6,7,1\n");
  EXPECT_ERROR_MENTIONS(read_csv(path), "n.csv:4", "column 2", "\"b\"", "\"x7\"");
}

TEST(CsvErrors, NanAndInfAreRefused) {
  TempDir dir;
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("nan.csv", "a,y\n1,0\nnan,1\n")), "nan.csv:3", "column 1", "\"nan\"",
                        "not finite");
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("inf.csv", "a,y\n-inf,0\n1,1\n")), "inf.csv:2", "\"-inf\"");
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("m.csv", "a,y\n,0\n1,1\n")), "m.csv:2", "missing value");
}

TEST(CsvErrors, UnknownLabelColumnListsColumns) {
  TempDir dir;
  const auto path = dir.write("l.csv", "a,b,y\n1,2,0\n3,4,1\n");
  EXPECT_ERROR_MENTIONS(read_csv(path, {.label = "target"}), "no label column \"target\"", "a, b, y");
}

TEST(CsvErrors, SingleClassIsRefused) {
  TempDir dir;
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("s.csv", "a,y\n1,cat\n2,cat\n")), "1 class(es)", "cat");
}

TEST(Csv, CategoricalColumnsReportedOrEncoded) {
  TempDir dir;
  const auto path = dir.write("c.csv", "age,color,y\n30,red,0\n40,blue,1\n50,red,1\n");
  EXPECT_ERROR_MENTIONS(read_csv(path), "categorical", "column 2", "\"color\"", "blue, red");
  CsvInfo info;
  const auto d = read_csv(path, {.categorical_ordinal = true}, &info);
  ASSERT_EQ(info.categorical_features, (std::vector<int64_t>{1}));
  EXPECT_EQ(info.categories[0], (std::vector<std::string>{"blue", "red"}));
  EXPECT_TRUE(torch::equal(d.x.select(1, 1), torch::tensor({1.0, 0.0, 1.0}, torch::kFloat64)));
  const auto dropped = read_csv(path, {.drop = {"color"}});
  EXPECT_EQ(dropped.num_features(), 1);
}
