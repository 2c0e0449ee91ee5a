#include "rebalance/core/spec.hpp"

#include <gtest/gtest.h>

#include "rebalance/core/error.hpp"
#include "../test_util.hpp"

using namespace rebalance;

TEST(Spec, ParsesNameAndArguments) {
  const auto s = parse_spec("smote:k_neighbors=5, sampling_strategy=minority");
  EXPECT_EQ(s.name, "smote");
  ASSERT_EQ(s.args.size(), 2u);
  EXPECT_EQ(s.args[0].first, "k_neighbors");
  EXPECT_EQ(s.args[0].second, "5");
  EXPECT_EQ(s.args[1].second, "minority");
  EXPECT_TRUE(parse_spec("fashion-mnist").args.empty());
}

TEST(Spec, BracketsKeepCommas) {
  const auto s = parse_spec("synthetic:weights=[0.9,0.1],n=10");
  ASSERT_EQ(s.args.size(), 2u);
  EXPECT_EQ(s.args[0].second, "[0.9,0.1]");
  EXPECT_EQ(split_top_level("smote+tomek:strategy={0:1,1:2}", '+').size(), 2u);
}

TEST(Spec, RefusesMalformedText) {
  EXPECT_THROW(parse_spec(":k=1"), Error);
  EXPECT_THROW(parse_spec("smote:k"), Error);
  EXPECT_THROW(parse_spec("smote:k=1,k=2"), Error);
  EXPECT_THROW(parse_spec("smote:w=[1,2"), Error);
  try {
    parse_spec("smote:k=1,k=2");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"k\" given twice"), std::string::npos) << e.what();
  }
}

TEST(Params, TypedAccessDefaultsAndErrors) {
  const std::vector<ParamDecl> decls = {{"n", "100", "rows"}, {"rate", "0.5", "a rate"}, {"w", "", "weights"}};
  Params p(parse_spec("x:n=7,w=0.2/0.8"), decls, "data set");
  EXPECT_EQ(p.get_int("n"), 7);
  EXPECT_DOUBLE_EQ(p.get_double("rate"), 0.5);
  EXPECT_TRUE(p.has("n"));
  EXPECT_FALSE(p.has("rate"));
  EXPECT_EQ(p.get_doubles("w"), (std::vector<double>{0.2, 0.8}));
  EXPECT_THROW(Params(parse_spec("x:bogus=1"), decls, "data set"), Error);
  try {
    Params(parse_spec("x:bogus=1"), decls, "data set");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("accepted: n, rate, w"), std::string::npos) << e.what();
  }
  Params bad(parse_spec("x:n=seven,rate=nan"), decls, "data set");
  EXPECT_THROW(bad.get_int("n"), Error);
  EXPECT_THROW(bad.get_double("rate"), Error);
  Params range(parse_spec("x:n=1000"), decls, "data set");
  EXPECT_THROW(range.get_int_in("n", 1, 10), Error);
}

TEST(Params, DescribeListsEveryDeclaration) {
  const auto text = describe_params({{"k_neighbors", "5", "neighbours"}, {"seed", "", "seed"}});
  EXPECT_NE(text.find("k_neighbors"), std::string::npos);
  EXPECT_NE(text.find("= 5"), std::string::npos);
  EXPECT_NE(text.find("(required)"), std::string::npos);
}

TEST(Spec, ExponentSignsAreNotCompositions) {
  EXPECT_EQ(split_top_level("random_over:shrinkage=1e+16", '+').size(), 1u);
  EXPECT_EQ(split_top_level("random_over:shrinkage=2.5E+3,sampling_strategy=minority", '+').size(), 1u);
  EXPECT_EQ(split_top_level("random_over:shrinkage=1e+2+tomek_links", '+'),
            (std::vector<std::string>{"random_over:shrinkage=1e+2", "tomek_links"}));
  EXPECT_EQ(split_top_level("smote+tomek_links", '+').size(), 2u);     // "...te+t": not a number
  EXPECT_EQ(split_top_level("cb:base=focale+smote", '+').size(), 2u);  // letters before the 'e'
  EXPECT_EQ(split_top_level("vae:x=-1e+2", '+').size(), 1u);
}

TEST(Spec, NestingIsBounded) {
  const std::string deep = "smote:sampling_strategy=" + std::string(5000, '[') + std::string(5000, ']');
  EXPECT_ERROR_MENTIONS(parse_spec(deep), "brackets nested more than 32 deep");
  const std::string ok = "x:v=" + std::string(32, '[') + std::string(32, ']');
  EXPECT_NO_THROW(parse_spec(ok));
}
