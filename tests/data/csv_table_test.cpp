// The CSV reader and writer: what goes in comes back, and every bad input is named.
#include <torch/torch.h>

#include <fstream>
#include <sstream>

#include "../test_util.hpp"
#include "rebalance/core/mapped_file.hpp"
#include "rebalance/core/number_text.hpp"
#include "rebalance/data/csv.hpp"

using namespace rebalance;
using rebalance::testing::TempDir;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// `data` with one synthetic row appended: class `cls`, features `x`, parents (p0, p1).
Dataset with_synthetic(const Dataset& data, std::vector<double> x, int64_t cls, int64_t p0, int64_t p1) {
  Dataset extra = data.subset(torch::tensor({int64_t(0)}));
  extra.x = torch::tensor(x, torch::kFloat64).reshape({1, -1});
  extra.y = torch::tensor({cls});
  extra.origin = torch::tensor({int64_t(-1)});
  extra.parents = torch::tensor({p0, p1}).reshape({1, 2});
  return Dataset::concat(data, extra);
}

}  // namespace

TEST(NumberText, ParsesExactlyAndNamesWhatCannotSurvive) {
  double v = 0;
  EXPECT_EQ(parse_number("123456789.123", v), NumberStatus::Ok);
  EXPECT_EQ(v, 123456789.123);
  EXPECT_EQ(parse_number("4000000001", v), NumberStatus::Ok);
  EXPECT_EQ(v, 4000000001.0);
  EXPECT_EQ(parse_number("+2.5e3", v), NumberStatus::Ok);
  EXPECT_EQ(v, 2500.0);
  EXPECT_EQ(parse_number("-0", v), NumberStatus::Ok);
  EXPECT_TRUE(std::signbit(v));
  EXPECT_EQ(parse_number("4.9e-324", v), NumberStatus::Ok);  // the smallest subnormal survives
  EXPECT_GT(v, 0.0);
  EXPECT_EQ(parse_number("0e-999", v), NumberStatus::Ok);
  EXPECT_EQ(parse_number("1e400", v), NumberStatus::Overflow);
  EXPECT_EQ(parse_number("-1e400", v), NumberStatus::Overflow);
  EXPECT_EQ(parse_number("1e-400", v), NumberStatus::Underflow);
  EXPECT_EQ(parse_number("inf", v), NumberStatus::NotFinite);
  EXPECT_EQ(parse_number("-Infinity", v), NumberStatus::NotFinite);
  EXPECT_EQ(parse_number("NaN", v), NumberStatus::NotFinite);
  EXPECT_EQ(parse_number("red", v), NumberStatus::NotANumber);
  EXPECT_EQ(parse_number("12abc", v), NumberStatus::NotANumber);
  EXPECT_EQ(parse_number("", v), NumberStatus::Empty);
  EXPECT_EQ(parse_number("9007199254740992", v), NumberStatus::Ok);              // 2^53
  EXPECT_EQ(parse_number("9007199254740993", v), NumberStatus::InexactInteger);  // 2^53 + 1
  EXPECT_EQ(parse_number("-9007199254740993", v), NumberStatus::InexactInteger);
  EXPECT_EQ(parse_number("18446744073709551616", v), NumberStatus::Ok);  // 2^64 is exact
  EXPECT_EQ(parse_number("0000000000000000042", v), NumberStatus::Ok);
}

TEST(NumberText, WritesTheShortestTextThatRoundTrips) {
  auto text = [](auto v) {
    std::string s;
    append_number(s, v);
    return s;
  };
  EXPECT_EQ(text(4000000001.0), "4000000001");
  EXPECT_EQ(text(123456789.123), "123456789.123");
  EXPECT_EQ(text(0.1), "0.1");
  EXPECT_EQ(text(0.1f), "0.1");
  EXPECT_EQ(text(3.0), "3");
  EXPECT_EQ(text(-0.0), "-0");
  EXPECT_EQ(text(1e300), "1e+300");
  torch::manual_seed(0);
  const auto r = (torch::randn({2000}, torch::kFloat64) * torch::pow(10.0, torch::randint(-30, 30, {2000}))).contiguous();
  for (int64_t i = 0; i < r.numel(); ++i) {
    const double want = r[i].item<double>();
    double back = 0;
    ASSERT_EQ(parse_number(text(want), back), NumberStatus::Ok);
    EXPECT_EQ(back, want) << text(want);
  }
}

TEST(CsvTable, PrecisionSurvives) {
  TempDir dir;
  const auto d = read_csv(dir.write("p.csv", "id,amount,y\n4000000001,123456789.123,a\n4000000000,0.1,b\n"));
  EXPECT_EQ(d.x.scalar_type(), torch::kFloat64);
  EXPECT_EQ(d.x[0][0].item<double>(), 4000000001.0);
  EXPECT_EQ(d.x[1][0].item<double>(), 4000000000.0);
  EXPECT_EQ(d.x[0][1].item<double>(), 123456789.123);
}

TEST(CsvTable, QuotedFieldsBomCrlfAndBlankLines) {
  TempDir dir;
  const std::string text =
      "\xEF\xBB\xBF" "a,\"b, the second\",note,y\r\n"
      "1,2,\"hello, world\",x\r\n"
      "3,4,\"two\r\nlines \"\"quoted\"\"\",y\r\n"
      "\r\n"
      "5,6,plain,x\r\n"
      "\r\n\r\n";
  CsvInfo info;
  const auto d = read_csv(dir.write("q.csv", text), {.passthrough = {"note"}}, &info);
  EXPECT_EQ(d.size(), 3);
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"a", "b, the second"}));
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(torch::equal(d.x, torch::tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, torch::kFloat64)));
  ASSERT_TRUE(info.table);
  EXPECT_TRUE(info.table->bom);
  EXPECT_TRUE(info.table->crlf);
  EXPECT_EQ(csv::unquote(info.table->raw(info.table->header_fields[1]), ','), "b, the second");
  // Written back unchanged: BOM, CRLF, quoting, the passthrough column.
  write_csv(dir.file("o.csv"), d, *info.table);
  EXPECT_EQ(slurp(dir.file("o.csv")),
            "\xEF\xBB\xBF" "a,\"b, the second\",note,y\r\n1,2,\"hello, world\",x\r\n"
            "3,4,\"two\r\nlines \"\"quoted\"\"\",y\r\n5,6,plain,x\r\n");
  // A later error still names the physical line, past the multi-line field.
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("q2.csv", "a,n,y\n1,\"x\ny\",0\n2,z,1\nbad,w,0\n3,v,1\n4,u,0\n"),
                                 {.passthrough = {"n"}}),
                        "q2.csv:5", "column 1", "\"a\"", "\"bad\"");
}

TEST(CsvTable, BadInputIsNamed) {
  TempDir dir;
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("r.csv", "a,b,y\n1,2,0\n3,1\n")), "r.csv:3", "ragged", "2 fields", "3");
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("o.csv", "a,b,y\n1,2,0\n3,oops,1\n4,5,1\n")), "o.csv:3", "column 2",
                        "\"b\"", "\"oops\"");
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("h.csv", "a,y\n1e400,0\n1,1\n")), "h.csv:2", "\"1e400\"", "overflows");
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("t.csv", "a,y\n1,0\n1e-400,1\n")), "t.csv:3", "\"1e-400\"", "underflows");
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("i.csv", "a,y\n1,0\ninf,1\n")), "i.csv:3", "\"inf\"", "not finite");
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("n.csv", "a,y\nnan,0\n1,1\n")), "n.csv:2", "\"nan\"", "not finite");
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("b.csv", "id,y\n9007199254740993,0\n1,1\n")), "b.csv:2", "column 1",
                        "\"9007199254740993\"", "2^53", "--passthrough");
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("m.csv", "a,b,y\n1,,0\n2,3,1\n")), "m.csv:2", "column 2", "missing value");
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("u.csv", "a,y\n1,0\n\"2,1\n")), "u.csv:3", "unterminated");
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("c.csv", "a,y\n\"1\"x,0\n2,1\n")), "c.csv:2", "after a closing quote");
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("l.csv", "a,y\n1,0\n2,\n")), "l.csv:3", "missing label");
  // Found by fuzz_csv: a missing label right after a quoted empty one ("" is a class) is still missing.
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("q.csv", "a,y\n1,b\n3,\"\"\n2,\n")), "q.csv:4", "missing label");
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("e.csv", "\n\n")), "e.csv", "empty file");
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("bom.csv", "\xEF\xBB\xBF")), "bom.csv", "empty file");
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("d.csv", "a,b,y\n1,2,0\n"), {.label = "b", .drop = {"b"}}), "\"b\"",
                        "also dropped");
  // An integer past 2^53 is fine where it is carried, not parsed.
  const auto ok = read_csv(dir.write("ok.csv", "id,a,y\n9007199254740993,1,0\n9007199254740995,2,1\n"),
                           {.passthrough = {"id"}});
  EXPECT_EQ(ok.num_features(), 1);
}

TEST(CsvTable, TabsAndOtherDelimiters) {
  TempDir dir;
  const auto t = read_csv(dir.write("d.tsv", "a\tb c\ty\n1\t2\tx\n3\t4\ty\n"));
  EXPECT_EQ(t.feature_names, (std::vector<std::string>{"a", "b c"}));
  const auto s = read_csv(dir.write("d.csv", "a;b;y\n1.5;2;x\n3;4;y\n"), {.delimiter = ';'}, nullptr);
  EXPECT_EQ(s.num_features(), 2);
  EXPECT_ERROR_MENTIONS(read_csv(dir.write("s.csv", "a;b;y\n1,5;2;x\n3;4;y\n"), {.delimiter = ';'}), "s.csv:2",
                        "\"1,5\"");
}

TEST(CsvTable, ParallelParseEqualsSerial) {
  TempDir dir;
  std::string text = "a,b,c,label\n";
  torch::manual_seed(1);
  const auto v = torch::randn({40000, 3}, torch::kFloat64).contiguous();
  for (int64_t i = 0; i < v.size(0); ++i) {
    for (int j = 0; j < 3; ++j) append_number(text, v[i][j].item<double>()), text += ',';
    text += i % 7 == 0 ? "rare\n" : "common\n";
    if (i % 1000 == 0) text += "\n";  // blank lines are skipped
  }
  const auto path = dir.write("big.csv", text);
  ASSERT_GT(text.size(), size_t(1) << 20);
  const auto one = read_csv(path, {.threads = 1});
  const auto two = read_csv(path, {.threads = 2});
  const auto many = read_csv(path, {.threads = 7});
  EXPECT_TRUE(torch::equal(one.x, v));
  EXPECT_TRUE(torch::equal(one.x, two.x));
  EXPECT_TRUE(torch::equal(one.x, many.x));
  EXPECT_TRUE(torch::equal(one.y, many.y));
}

TEST(CsvTable, WriterKeepsTheSchemaAndOriginalRows) {
  TempDir dir;
  const std::string text =
      "id,amount,color,label,ts,junk\n"
      "4000000001,123456789.123,red,fraud,2024-01-01T00:00,x\n"
      "4000000002,1.50,blue,ok,2024-01-02T00:00,y\n"
      "4000000003,2.50,\"dark, red\",ok,2024-01-03T00:00,z\n";
  CsvInfo info;
  const auto d = read_csv(dir.write("in.csv", text),
                          {.label = "label", .allow_categorical = true, .drop = {"junk"}, .passthrough = {"id", "ts"}},
                          &info);
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"amount", "color"}));
  ASSERT_EQ(info.categorical_features, (std::vector<int64_t>{1}));
  EXPECT_EQ(info.categories[0], (std::vector<std::string>{"blue", "dark, red", "red"}));
  // One synthetic fraud row with amount 7.25 and category code 1 ("dark, red"), from rows 0 and 2.
  const auto out = with_synthetic(d.subset(torch::tensor(std::vector<int64_t>{2, 0, 1})), {7.25, 1.0}, 0, 0, 2);
  write_csv(dir.file("o.csv"), out, *info.table, {.provenance_columns = true});
  EXPECT_EQ(slurp(dir.file("o.csv")),
            "id,amount,color,label,ts,origin,parent0,parent1\n"
            "4000000003,2.50,\"dark, red\",ok,2024-01-03T00:00,2,-1,-1\n"
            "4000000001,123456789.123,red,fraud,2024-01-01T00:00,0,-1,-1\n"
            "4000000002,1.50,blue,ok,2024-01-02T00:00,1,-1,-1\n"
            ",7.25,\"dark, red\",fraud,,-1,0,2\n");
  // Ordinal codes from a numeric sampler take the nearest category.
  const auto ordinal = with_synthetic(d, {1.0, 1.7}, 1, 1, 2);
  write_csv(dir.file("o2.csv"), ordinal, *info.table);
  EXPECT_NE(slurp(dir.file("o2.csv")).find("\n,1,red,ok,\n"), std::string::npos) << slurp(dir.file("o2.csv"));
  // A kept row whose class changed is refused, not written.
  auto bad = d;
  bad.y = torch::tensor(std::vector<int64_t>{1, 1, 1});
  EXPECT_ERROR_MENTIONS(write_csv(dir.file("bad.csv"), bad, *info.table), "row 0", "class changed");
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad.csv")));
}

TEST(CsvTable, TextColumnsRefusedUnlessAllowed) {
  TempDir dir;
  const auto path = dir.write("c.csv", "age,color,y\n30,red,0\n40,blue,1\n50,red,1\n");
  EXPECT_ERROR_MENTIONS(read_csv(path), "c.csv", "column 2 (\"color\"", "smotenc", "--categorical ordinal");
  // Named categorical columns: codes in numeric order of their values.
  CsvInfo info;
  const auto d = read_csv(path, {.categorical = {"age"}, .drop = {"color"}}, &info);
  EXPECT_EQ(info.categorical_features, (std::vector<int64_t>{0}));
  EXPECT_EQ(info.categories[0], (std::vector<std::string>{"30", "40", "50"}));
  EXPECT_TRUE(info.text_features.empty());
  EXPECT_TRUE(torch::equal(d.x.flatten(), torch::tensor({0.0, 1.0, 2.0}, torch::kFloat64)));
}

TEST(CsvTable, ParsesFromMemory) {
  const auto t = csv::parse(MappedFile::from_bytes("a,y\n1,0\n2,1\n"), "mem.csv");
  EXPECT_EQ(t.num_rows(), 2);
  EXPECT_EQ(t.x, (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(t.y, (std::vector<int64_t>{0, 1}));
}
