#include "rebalance/core/tensor_archive.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>

#include "../test_util.hpp"

using namespace rebalance;
using rebalance::testing::same_tensors;

namespace {

torch::nn::Sequential net(int64_t hidden) {
  torch::manual_seed(0);
  return torch::nn::Sequential(torch::nn::Linear(5, hidden), torch::nn::BatchNorm1d(hidden), torch::nn::ReLU(),
                               torch::nn::Linear(hidden, 2));
}

std::vector<at::Tensor> state_of(torch::nn::Module& m) {
  std::vector<at::Tensor> out;
  for (const auto& p : m.named_parameters(true)) out.push_back(p.value());
  for (const auto& b : m.named_buffers(true)) out.push_back(b.value());
  return out;
}

/// One Adam step of `m` on a fixed batch.
void step(torch::nn::Sequential& m, torch::optim::Optimizer& o) {
  m->train();
  o.zero_grad();
  m->forward(torch::linspace(-1, 1, 40).reshape({8, 5})).pow(2).mean().backward();
  o.step();
}

}  // namespace

TEST(TensorArchive, ModulesAndTensorsRoundTripBitForBit) {
  auto a = net(7);
  step(a, *std::make_unique<torch::optim::Adam>(a->parameters(), 0.1));
  TensorWriter w;
  w.add_module("net", *a);
  w.add("extra", torch::arange(6, torch::kInt64).reshape({2, 3}));
  w.add("flags", torch::tensor({true, false}));
  w.add("empty", torch::empty({0, 4}));
  const auto bytes = w.bytes();
  EXPECT_TRUE(is_tensor_payload(bytes));
  auto b = net(7);
  for (auto& p : b->parameters()) p.data().fill_(3);
  const TensorReader r(bytes, "f.bin");
  r.load_module("net", *b);
  EXPECT_TRUE(same_tensors(state_of(*a), state_of(*b)));
  EXPECT_TRUE(torch::equal(r.get("extra"), torch::arange(6, torch::kInt64).reshape({2, 3})));
  EXPECT_EQ(r.get("empty").sizes(), (std::vector<int64_t>{0, 4}));
  EXPECT_TRUE(torch::equal(r.get("flags"), torch::tensor({true, false})));
  EXPECT_ERROR_MENTIONS(r.get("nothing"), "f.bin", "lack tensor \"nothing\"");
}

TEST(TensorArchive, AdamStateRestoresTheSameNextStep) {
  auto a = net(4), b = net(4);
  auto oa = std::make_unique<torch::optim::Adam>(a->parameters(), torch::optim::AdamOptions(0.05).amsgrad(true));
  step(a, *oa), step(a, *oa);
  TensorWriter w;
  w.add_module("m", *a);
  w.add_optimizer("o", *oa);
  const TensorReader r(w.bytes(), "ck");
  auto ob = std::make_unique<torch::optim::Adam>(b->parameters(), torch::optim::AdamOptions(0.05).amsgrad(true));
  r.load_module("m", *b);
  r.load_optimizer("o", *ob);
  step(a, *oa), step(b, *ob);
  EXPECT_TRUE(same_tensors(state_of(*a), state_of(*b)));
  // SGD with momentum too
  auto sa = std::make_unique<torch::optim::SGD>(a->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  step(a, *sa);
  TensorWriter ws;
  ws.add_module("m", *a);
  ws.add_optimizer("o", *sa);
  const TensorReader rs(ws.bytes(), "ck");
  auto sb = std::make_unique<torch::optim::SGD>(b->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  rs.load_module("m", *b);
  rs.load_optimizer("o", *sb);
  step(a, *sa), step(b, *sb);
  EXPECT_TRUE(same_tensors(state_of(*a), state_of(*b)));
}

TEST(TensorArchive, AFileForAnotherNetworkIsRefused) {
  auto a = net(7);
  TensorWriter w;
  w.add_module("net", *a);
  const TensorReader r(w.bytes(), "m.rbm");
  auto wider = net(9);
  EXPECT_ERROR_MENTIONS(r.load_module("net", *wider), "m.rbm", "[9, 5]", "[7, 5]");
  auto shallow = torch::nn::Sequential(torch::nn::Linear(5, 7));
  EXPECT_ERROR_MENTIONS(r.load_module("net", *shallow), "m.rbm", "header and the weights disagree");
}

TEST(TensorArchive, MalformedIndexesAreErrorsNamingTheFile) {
  TensorWriter w;
  w.add("t", torch::ones({2, 2}));
  const std::string good = w.bytes();
  const auto with_index = [](const std::string& index, size_t data) {
    return std::string("REBALANCE-TENSORS 1\n") + std::to_string(index.size()) + "\n" + index + std::string(data, 'x');
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {with_index(R"({"t":{"dtype":"float32","shape":[2,2],"offset":0,"bytes":16}})", 15), "outside"},
      {with_index(R"({"t":{"dtype":"float32","shape":[2,2],"offset":8,"bytes":16}})", 16), "outside"},
      {with_index(R"({"t":{"dtype":"float32","shape":[2,2],"offset":0,"bytes":12}})", 16), "needs 16"},
      {with_index(R"({"t":{"dtype":"float32","shape":[-2,2],"offset":0,"bytes":16}})", 16), "whole number"},
      {with_index(R"({"t":{"dtype":"complex","shape":[2],"offset":0,"bytes":16}})", 16), "unsupported dtype"},
      {with_index(R"({"t":{"dtype":"uint8","shape":[1099511627776,1099511627776],"offset":0,"bytes":1}})", 16),
       "2^40"},
      {with_index(R"({"t":{"dtype":"uint8","shape":[2],"offset":18446744073709551615,"bytes":2}})", 16), "outside"},
      {with_index(R"({"t":[1,2]})", 16), "entry needs"},
      {with_index(R"([1,2])", 16), "not a JSON object"},
      {good.substr(0, good.size() - 1), "outside"},
      {good.substr(0, 24), "truncated"},
  };
  for (const auto& [bytes, says] : cases) EXPECT_ERROR_MENTIONS(TensorReader(bytes, "w.bin"), std::string("w.bin"), says);
}

TEST(TensorArchive, TorchArchivesNeedTrust) {
  EXPECT_ERROR_MENTIONS(require_trusted_legacy("old.rbm"), "old.rbm", "runs the code", "--trust-legacy-files");
  set_trust_legacy_archives(true);
  require_trusted_legacy("old.rbm");
  set_trust_legacy_archives(false);
  // A torch archive is not a tensor payload.
  torch::serialize::OutputArchive archive;
  archive.write("t", torch::ones(3));
  std::ostringstream out;
  archive.save_to(out);
  EXPECT_FALSE(is_tensor_payload(out.str()));
}
