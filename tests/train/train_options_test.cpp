// The training options' single declaration (train/train_options.hpp).
#include "rebalance/train/train_options.hpp"

#include <nlohmann/json.hpp>

#include <set>

#include "../test_util.hpp"
#include "rebalance/losses/loss.hpp"
#include "rebalance/mix/mix.hpp"
#include "rebalance/train/decouple.hpp"

using namespace rebalance;
using namespace rebalance::train;

TEST(TrainOptions, EveryMemberIsDeclaredOnceWithItsStructDefault) {
  std::set<std::string> keys;
  for (const auto& p : train_params()) {
    EXPECT_TRUE(keys.insert(p.key).second) << p.key;
    EXPECT_FALSE(p.help.empty()) << p.key;
    if (p.lo < p.hi) {
      const double d = train_option_value(TrainOptions{}, p).get<double>();
      EXPECT_GE(d, p.lo) << p.key;
      EXPECT_LE(d, p.hi) << p.key;
    }
  }
  EXPECT_EQ(keys.size(), 28u);  // a member added to TrainOptions must be declared here too
  EXPECT_EQ(train_option_default(train_param("lr")), "0.001");
  EXPECT_EQ(train_option_default(train_param("optimizer")), "adam");
  EXPECT_EQ(train_option_flag(train_param("batch_size")), "--batch-size");
  EXPECT_EQ(train_option_flag(train_param("checkpoint_dir")), "--checkpoint");
  EXPECT_ERROR_MENTIONS(train_param("learning_rate"), "unknown training option \"learning_rate\"", "lr");
}

TEST(TrainOptions, AFactoryFlagsHelpNamesEveryMethodItsFactoryAccepts) {
  // The lists come from the registries: a loss added there shows in --help without a second edit.
  const auto lists = [](const std::string& key, const std::string& name) {
    EXPECT_NE(train_param(key).help.find(name), std::string::npos) << key << " help lacks " << name;
  };
  for (const auto& l : losses::loss_registry()) lists("loss", l.name);
  for (const auto& m : mix::mix_registry()) lists("mix", m.name);
  for (const auto& d : decouple_registry()) lists("decouple", d.name);
  lists("loss", "cb, la, balanced_softmax or ldam, with parameters");
}

TEST(TrainOptions, JsonHoldsWhatDecidesTheResultAndLaterOptionsOnlyWhenSet) {
  const auto j = options_to_json(TrainOptions{});
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  // The keys of every result hash and checkpoint written so far: unchanged.
  EXPECT_EQ(keys, (std::set<std::string>{"model", "loss", "batch_policy", "decision", "optimizer", "lr", "momentum",
                                         "weight_decay", "schedule", "epochs", "batch_size", "monitor", "patience",
                                         "seed"}));
  EXPECT_EQ(j.dump(),
            R"({"batch_policy":"uniform","batch_size":128,"decision":"argmax","epochs":10,"loss":"ce","lr":0.001,)"
            R"("model":"mlp","momentum":0.9,"monitor":"f1_macro","optimizer":"adam","patience":0,"schedule":"none",)"
            R"("seed":0,"weight_decay":0.0})");
  TrainOptions o;
  o.iterations = 100, o.synthetic_weight = 0.5, o.loss_counts = "real", o.augment = "hflip", o.mix = "remix";
  o.unfreeze_after = 2;
  o.checkpoint_dir = "somewhere", o.device = "cuda", o.progress = false;
  const auto k = options_to_json(o);
  EXPECT_EQ(k["iterations"], 100);
  EXPECT_EQ(k["synthetic_weight"], 0.5);
  EXPECT_EQ(k["loss_counts"], "real");
  EXPECT_EQ(k["augment"], "hflip");
  EXPECT_EQ(k["mix"], "remix");
  EXPECT_EQ(k["unfreeze_after"], 2);
  EXPECT_EQ(k["unfreeze_lr_factor"], 0.1);  // the factor belongs to the unfreezing
  EXPECT_FALSE(k.contains("checkpoint_dir") || k.contains("device") || k.contains("progress"));
}

TEST(TrainOptions, SetChecksTypeRangeAndChoicesNamingTheKey) {
  TrainOptions o;
  set_train_option(o, train_param("lr"), 0.01, "here");
  EXPECT_DOUBLE_EQ(o.lr, 0.01);
  set_train_option(o, train_param("epochs"), 3, "here");
  EXPECT_EQ(o.epochs, 3);
  set_train_option(o, train_param("monitor"), "acsa", "here");
  EXPECT_EQ(o.monitor, "acsa");
  EXPECT_ERROR_MENTIONS(set_train_option(o, train_param("lr"), 0.0, "here"), "here: lr", "must be in");
  EXPECT_ERROR_MENTIONS(set_train_option(o, train_param("epochs"), 2.5, "here"), "here: epochs", "whole number");
  EXPECT_ERROR_MENTIONS(set_train_option(o, train_param("optimizer"), "rmsprop", "here"), "must be adam or sgd",
                        "\"rmsprop\"");
  EXPECT_ERROR_MENTIONS(set_train_option(o, train_param("model"), 3, "here"), "here: model", "must be a string");
  EXPECT_ERROR_MENTIONS(set_train_option(o, train_param("seed"), -1, "here"), "here: seed", ">= 0");
}
