// `rebalance generate`: train (or load) a VAE / MGVAE / CycleGAN for one class and write its samples.
#include <torch/torch.h>

#include <filesystem>
#include <iostream>
#include <limits>

#include "commands.hpp"
#include "rebalance/core/output_paths.hpp"
#include <nlohmann/json.hpp>

#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/data/csv.hpp"
#include "rebalance/data/imbalance.hpp"
#include "rebalance/data/npy.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/experiment/png.hpp"
#include "rebalance/generative/quality.hpp"
#include "rebalance/generative/samplers.hpp"
#include "rebalance/train/distributed.hpp"
#include "rebalance/core/rng_streams.hpp"

#include <optional>

namespace rebalance::cli {

void add_generate_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "generate",
      "train a VAE, MGVAE or CycleGAN on one class (or load a saved one) and write synthetic rows of that class");
  static std::string method = "vae", input, label, pair, cls, output, save, load, grid, summary;
  static int64_t count = -1;
  static double holdout = 0.0;
  static uint64_t seed = 0;
  cmd->add_option("-m,--method", method, "generator spec: vae:..., mgvae:... or cyclegan:... (see `rebalance methods`)")
      ->capture_default_str();
  cmd->add_option("-i,--input", input, "built-in data set spec or a .csv/.npy file (training data; for MGVAE and "
                                       "CycleGAN the majority rows to translate)");
  cmd->add_option("--label", label, "label column of a CSV (name or index; default: last), or the labels .npy");
  cmd->add_option("--pair", pair, "first keep a binary task A:N_A,B:N_B of the input (N = all: every row), "
                                  "e.g. \"T-shirt/top:5000,Shirt:100\"");
  cmd->add_option("--class", cls, "the class to generate (name or number); default: the smallest");
  cmd->add_option("-n,--count", count, "rows to generate; default: as many as the largest class has more")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  cmd->add_option("-o,--output", output, "output .npy (rows as [n, shape...]) or .csv (flat features + label)")
      ->required();
  cmd->add_option("--save-model", save, "write the trained generator here");
  cmd->add_option("--load-model", load, "use this saved generator instead of training one");
  cmd->add_option("--grid", grid, "also write a PNG grid of the first 64 samples (image data)");
  cmd->add_option("--seed", seed, "random seed")->capture_default_str();
  cmd->add_option("--summary", summary,
                  "write a JSON summary: each training stage's epochs, losses and seconds, and the samples' quality "
                  "(two-sample AUC, nearest-real distances, train-on-synthetic recall, reconstruction error, a 2-D "
                  "PCA embedding)");
  cmd->add_option("--holdout", holdout,
                  "hold out this fraction of every class (seeded) from training, to score the samples against "
                  "rows the generator never saw (the quality measures that need held-out rows are null without it)")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  static train::DistributedOptions dist;
  static int64_t all_reduces = 0;
  add_distributed_options(cmd, dist, "train the VAE or MGVAE");
  cmd->callback([&action] {
    action = [] {
      const auto ext = std::filesystem::path(output).extension().string();
      REBALANCE_CHECK(ext == ".csv" || ext == ".npy", "--output {}: expected a .csv or .npy file name", output);
      {
        const std::filesystem::path p(output);
        check_outputs({{"--input", input}, {"--label", label}, {"--load-model", load}},
                      {{"--output", output},
                       {"--output's sources", (p.parent_path() / (p.stem().string() + "_source.npy")).string()},
                       {"--save-model", save}, {"--grid", grid}, {"--summary", summary}});
      }
      REBALANCE_CHECK(grid.empty() || std::filesystem::path(grid).extension() == ".png", "--grid {}: expected a .png",
                      grid);
      // Any name the sampler factory accepts for vae / mgvae (VAEOverSampler, mg_vae, ...).
      const SamplerInfo* info = load.empty() ? find_sampler(parse_spec(method).name) : nullptr;
      const std::string kind = !load.empty() ? generative::saved_generator_kind(load)
                                             : info ? info->name : parse_spec(method).name;
      const bool is_vae = kind == "vae" || kind == "VAEOverSampler";
      const bool is_gan = kind == "cyclegan" || kind == "CycleGANOverSampler";
      REBALANCE_CHECK(is_vae || is_gan || kind == "mgvae" || kind == "MGVAEOverSampler",
                      "--method {}: rebalance generate trains vae, mgvae or cyclegan generators", method);
      REBALANCE_CHECK(!input.empty() || (!load.empty() && is_vae), "--input is required (training rows{})",
                      is_vae ? "" : is_gan ? ", and the majority rows CycleGAN translates"
                                           : ", and the majority rows MGVAE translates");
      Dataset data, held;
      int64_t c = -1, n = count;
      if (!input.empty()) {
        CsvOptions csv;
        csv.label = label;
        data = load_dataset(input, csv);
        if (!pair.empty()) {
          const auto pc = parse_class_counts(pair, data, "--pair");
          REBALANCE_CHECK(pc.size() == 2, "--pair \"{}\" must name two classes, A:N_A,B:N_B", pair);
          data = binary_pair(data, pc[0].first, pc[0].second, pc[1].first, pc[1].second, seed);
        }
        if (holdout > 0) {
          REBALANCE_CHECK(load.empty(), "--holdout: a loaded generator's training rows are unknown; hold out rows "
                                        "when training it");
          auto split = stratified_split(data, 0.0, holdout, seed);
          data = std::move(split.train);
          held = std::move(split.test);
        }
        const auto counts = data.class_counts();
        c = cls.empty() ? std::min_element(counts.begin(), counts.end()) - counts.begin() : data.class_index(cls);
        if (n < 0) n = *std::max_element(counts.begin(), counts.end()) - counts[c];
        std::cout << fmt::format("{}: {} rows {}\n", input, data.size(), format_counts(counts, data.class_names));
      }
      REBALANCE_CHECK(n >= 0, "--count is required when no --input gives the class sizes");
      // Data-parallel training: every rank trains on its shard of each batch, the gradients are
      // summed over the ranks, and all end with the same generator; rank 0 writes the outputs.
      REBALANCE_CHECK(dist.world_size > 1 || dist.rank == 0, "--rank {} needs --world-size > {}", dist.rank, dist.rank);
      std::unique_ptr<train::Communicator> comm;
      std::optional<generative::DataParallelScope> parallel;
      if (dist.world_size > 1) {
        REBALANCE_CHECK(load.empty(), "--world-size trains a generator; a loaded one (--load-model) needs no training");
        REBALANCE_CHECK(!is_gan, "--world-size: CycleGAN trains on one process (data-parallel VAE and MGVAE only)");
        comm = train::connect(dist);
        const auto x = data.x.to(torch::kFloat64);
        comm->check_agreement("options and data",
                              fmt::format("{} | class {} | count {} | seed {} | holdout {} | {} rows {} | sum {:.17g} | "
                                          "sum of squares {:.17g}", method, c, n, seed, holdout, data.size(),
                                          format_counts(data.class_counts(), data.class_names), x.sum().item<double>(),
                                          x.pow(2).sum().item<double>()));
        auto* link = comm.get();
        parallel.emplace(generative::GradientSync{dist.rank, dist.world_size, [link](std::vector<at::Tensor>& grads) {
          ++all_reduces;
          // One flat float32 buffer per step (Gloo reduces one tensor at a time).
          std::vector<at::Tensor> parts;
          for (const auto& g : grads) parts.push_back(g.reshape({-1}).to(torch::kFloat32));
          std::vector<at::Tensor> flat{torch::cat(parts).contiguous()};
          link->all_reduce_sum(flat);
          int64_t at = 0;
          for (auto& g : grads) {
            g.copy_(flat[0].slice(0, at, at + g.numel()).view(g.sizes()));
            at += g.numel();
          }
        }});
      }
      // The samples, their sources, the grid, the generator and the summary appear together, or
      // (on an error, a full disk) none of them, each earlier file keeping its previous content.
      AtomicFileGroup files;
      at::Tensor rows;
      std::vector<int64_t> source;
      std::vector<generative::FitLog> history;
      // The generator's reconstruction error on the held-out rows of the class (or, without
      // --holdout, on its training rows), measured while the model is at hand.
      double recon = std::numeric_limits<double>::quiet_NaN();
      const bool assess = !summary.empty() && !input.empty();
      const Dataset& recon_on = held.size() > 0 ? held : data;
      const auto recon_rows = [&] { return recon_on.x.index_select(0, recon_on.indices_of(c)); };
      if (is_vae) {
        auto vae = !load.empty() ? generative::VAE::load(load) : generative::train_vae_for_class(method, data, c, seed);
        if (!load.empty() && !input.empty())
          REBALANCE_CHECK(vae.feature_shape() == data.feature_shape(),
                          "{}: the generator was trained on rows of another shape than {}'s", load, input);
        history = vae.history();
        rows = vae.sample(n);
        if (assess) recon = vae.reconstruction_error(recon_rows());
        if (!save.empty()) vae.save(save);
      } else if (is_gan) {
        int64_t major = load.empty() ? generative::cyclegan_majority_class(method, data) : -1;
        if (!load.empty()) {
          // A loaded CycleGAN translates the largest class other than the one generated.
          const auto counts = data.class_counts();
          for (int64_t k = 0; k < data.num_classes(); ++k)
            if (k != c && (major < 0 || counts[k] > counts[major])) major = k;
        }
        REBALANCE_CHECK(major != c, "--class {}: is domain A, the class CycleGAN translates from", data.class_names[c]);
        auto gan = !load.empty() ? generative::CycleGAN::load(load)
                                 : generative::train_cyclegan_for_class(method, data, c, seed, &major);
        if (!load.empty())
          REBALANCE_CHECK(gan.image_shape() == data.feature_shape(),
                          "{}: the generator was trained on rows of another shape than {}'s", load, input);
        const auto maj_rows = data.indices_of(major);
        // Majority rows in seeded permutations until n are taken (as the cyclegan sampler).
        const auto pick = Rng(seed).fork(streams::kTranslatedSources + static_cast<uint64_t>(c)).cycled_permutations(maj_rows.size(0), n);
        const auto chosen = maj_rows.index_select(0, torch::tensor(pick, torch::kInt64));
        rows = n > 0 ? gan.translate_ab(data.x.index_select(0, chosen)) : data.x.slice(0, 0, 0).to(torch::kFloat32);
        if (assess) {
          const auto b = recon_rows().to(torch::kFloat32);
          recon = (gan.translate_ab(gan.translate_ba(b)) - b).pow(2).mean().item<double>();
        }
        const auto origin = data.origin.index_select(0, chosen).to(torch::kCPU).contiguous();
        source.assign(origin.data_ptr<int64_t>(), origin.data_ptr<int64_t>() + origin.numel());
        for (const auto& h : gan.history()) {
          std::cout << fmt::format("cyclegan: {} steps, cycle {:.4g}, identity {:.4g}, adversarial {:.4g}, "
                                   "discriminators {:.4g} / {:.4g}\n",
                                   h.steps, h.cycle, h.identity, h.generator_adv, h.discriminator_a, h.discriminator_b);
          history.push_back({"cyclegan", {}, h.seconds});
        }
        if (!save.empty()) gan.save(save);
      } else {
        int64_t major = generative::mgvae_majority_class(method, data);
        auto mg = !load.empty() ? generative::MGVAE::load(load)
                                : generative::train_mgvae_for_class(method, data, c, seed, &major);
        history = mg.history();
        const auto maj_rows = data.indices_of(major);
        rows = mg.generate(data.x.index_select(0, maj_rows), n, &source);
        if (assess) recon = mg.reconstruction_error(recon_rows());
        // Sources as rows of the input (through --pair and --holdout).
        const auto origin = data.origin.index_select(0, maj_rows).to(torch::kCPU).contiguous();
        const auto* pm = origin.data_ptr<int64_t>();
        for (auto& s : source) s = pm[s];
        if (!save.empty()) mg.save(save);
      }
      parallel.reset();
      if (dist.world_size > 1)
        std::cout << fmt::format("rank {} of {}: {} steps on its shard of each batch, gradients all-reduced\n",
                                 dist.rank, dist.world_size, all_reduces);
      if (dist.rank != 0) {  // the ranks hold the same generator: rank 0 writes the outputs
        for (const auto& h : history)
          if (!h.epoch_loss.empty())
            std::cout << fmt::format("{}: {} epochs, loss {:.4g} -> {:.4g}\n", h.stage, h.epoch_loss.size(),
                                     h.epoch_loss.front(), h.epoch_loss.back());
        std::cout << fmt::format("rank {}: trained; rank 0 writes the outputs\n", dist.rank);
        return;
      }
      nlohmann::json stages = nlohmann::json::array();
      for (const auto& h : history) {
        const auto& l = h.epoch_loss;
        std::cout << fmt::format("{}: {}{:.2f} s\n", h.stage,
                                 l.empty() ? "" : fmt::format("{} epochs, loss {:.4g} -> {:.4g} in ", l.size(), l.front(), l.back()),
                                 h.seconds);
        stages.push_back({{"stage", h.stage}, {"epoch_loss", l}, {"seconds", h.seconds}});
      }
      nlohmann::json quality;
      if (assess && n > 0) {
        generative::QualityOptions qo;
        qo.seed = seed;
        auto q = generative::class_quality(data, c, rows, held, qo);
        q.reconstruction_error = recon;
        quality = generative::quality_to_json(q, true);
        quality["held_out"] = held.size() > 0 ? fmt::format("{:g} of every class, not trained on", holdout)
                                              : std::string("none (reconstruction error on the training rows)");
        std::cout << fmt::format("quality: two-sample AUC {:.3f} (0.5: indistinguishable), reconstruction error {:.4g}"
                                 "{}\n", q.two_sample_auc, q.reconstruction_error,
                                 held.size() > 0 ? fmt::format(", memorisation {:.2f}, TSTR recall {:.3f} / {:.3f}",
                                                               q.memorisation, q.tstr_recall, q.tstr_other_recall)
                                                 : std::string());
      }
      if (!summary.empty())
        write_atomic(summary, [&](std::ostream& out) {
          nlohmann::json j{{"method", method}, {"count", n}, {"stages", stages}};
          if (!quality.is_null()) j["quality"] = quality;
          out << j.dump(2) << "\n";
        });
      if (ext == ".npy") {
        write_npy(output, rows);
      } else {
        Dataset out = Dataset::from_tensors(rows.reshape({n, -1}).contiguous(), torch::full({n}, c < 0 ? 0 : c, torch::kInt64),
                                            data.class_names.empty() ? std::vector<std::string>{} : data.class_names);
        out.feature_names = data.feature_names;
        write_csv(output, out);
      }
      std::string src_path;
      if (!source.empty()) {
        const std::filesystem::path p(output);
        src_path = (p.parent_path() / (p.stem().string() + "_source.npy")).string();
        write_npy(src_path, torch::tensor(source, torch::kInt64));
      }
      if (!grid.empty()) {
        REBALANCE_CHECK(rows.dim() == 4 && (rows.size(1) == 1 || rows.size(1) == 3),
                        "--grid needs image rows [C, H, W] with C = 1 or 3, got rows of {} dimensions", rows.dim() - 1);
        if (n > 0) write_image_grid_png(grid, rows.slice(0, 0, std::min<int64_t>(64, n)), 8);
      }
      files.commit();
      if (!src_path.empty()) std::cout << fmt::format("wrote {} (the majority row each sample translates)\n", src_path);
      std::cout << fmt::format("wrote {} rows of class {} to {}{}{}\n", n,
                               c >= 0 && c < static_cast<int64_t>(data.class_names.size()) ? data.class_names[c] : "?",
                               output, save.empty() ? "" : ", the generator to " + save,
                               grid.empty() ? "" : ", the grid to " + grid);
    };
  });
}

}  // namespace rebalance::cli
