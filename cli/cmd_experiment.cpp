#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>
#include <tuple>

extern char** environ;

#include "commands.hpp"
#include "rebalance/core/output_paths.hpp"
#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/experiment/runner.hpp"
#include "rebalance/experiment/table.hpp"

namespace rebalance::cli {

namespace {

/// `rebalance run --jobs N`: N worker processes of this program, each taking the next unclaimed cell,
/// with cores / N threads (OpenMP waiting passively unless the environment says otherwise), their
/// output on this process's. Returns once all have ended; Error naming each one that failed.
void run_workers(const std::string& config_path, const std::string& out_dir, int64_t jobs, int64_t stop_after) {
  const int64_t cores = std::max<int64_t>(1, static_cast<int64_t>(std::thread::hardware_concurrency()));
  const int64_t threads = std::max<int64_t>(1, cores / jobs);
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e) {
    const std::string_view v(*e);
    if (v.rfind("REBALANCE_THREADS=", 0) == 0 || v.rfind("OMP_NUM_THREADS=", 0) == 0 ||
        v.rfind("REBALANCE_RUN_PARENT=", 0) == 0)
      continue;
    env_text.emplace_back(v);
  }
  env_text.push_back(fmt::format("REBALANCE_RUN_PARENT={}", ::getpid()));  // see end_with_parent
  env_text.push_back(fmt::format("REBALANCE_THREADS={}", threads));
  env_text.push_back(fmt::format("OMP_NUM_THREADS={}", threads));
  if (!std::getenv("OMP_WAIT_POLICY")) env_text.push_back("OMP_WAIT_POLICY=PASSIVE");
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::cout << fmt::format("{} worker processes, {} thread{} each\n", jobs, threads, threads == 1 ? "" : "s")
            << std::flush;
  std::vector<pid_t> pids;
  for (int64_t k = 0; k < jobs; ++k) {
    std::vector<std::string> args = {"rebalance", "run", config_path, "--out", out_dir,
                                     "--worker", fmt::format("{}/{}", k, jobs)};
    if (stop_after >= 0) args.insert(args.end(), {"--stop-after", std::to_string(stop_after)});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), envp.data());
    REBALANCE_CHECK(rc == 0, "cannot start worker {} of {}: {}", k + 1, jobs, std::strerror(rc));
    pids.push_back(pid);
  }
  std::vector<std::string> failed;
  for (size_t k = 0; k < pids.size(); ++k) {
    int status = 0;
    while (::waitpid(pids[k], &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      failed.push_back(WIFEXITED(status) ? fmt::format("worker {} exited with {}", k + 1, WEXITSTATUS(status))
                                         : fmt::format("worker {} was killed by signal {}", k + 1, WTERMSIG(status)));
  }
  REBALANCE_CHECK(failed.empty(), "{} (its error is above; the cells that finished are kept, and a rerun runs the "
                  "rest)", fmt::join(failed, "; "));
}

/// A worker ends with the `run --jobs` that started it: killed (SIGKILL, or a SIGTERM from `kill`/`pkill`
/// that only it receives), the parent would otherwise leave its workers running on, writing into the
/// results it no longer manages. Linux sends the worker SIGTERM when its parent dies; a parent that died
/// before this call is caught by comparing with the pid it gave (REBALANCE_RUN_PARENT). The cell a
/// worker was in is lost, its claim cleared by the next run, which runs it again.
void end_with_parent() {
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  const char* parent = std::getenv("REBALANCE_RUN_PARENT");
  REBALANCE_CHECK(!parent || std::to_string(::getppid()) == parent,
                  "the `rebalance run --jobs` that started this worker (pid {}) has ended: stopping", parent);
}

/// "K/N" of --worker.
std::pair<int64_t, int64_t> parse_worker(const std::string& text) {
  const auto slash = text.find('/');
  const auto k = parse_int(text.substr(0, slash)), n = slash == std::string::npos ? std::nullopt
                                                                                   : parse_int(text.substr(slash + 1));
  REBALANCE_CHECK(k && n && *n >= 1 && *k >= 0 && *k < *n, "--worker {}: expected K/N with 0 <= K < N", text);
  return {*k, *n};
}

}  // namespace

void add_run_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("run", "run an experiment config (TOML) cell by cell; a rerun resumes (an unfinished "
                                        "cell from its last epoch)");
  static std::string config_path, out_dir, worker;
  static int64_t stop_after = -1, jobs = 1;
  static bool status = false;
  cmd->add_option("config", config_path, "experiment .toml")->required();
  cmd->add_option("--out", out_dir, "output directory (default: results/<config name>)");
  cmd->add_option("--stop-after", stop_after, "stop after this many new cells (a rerun continues)");
  cmd->add_flag("--status", status, "run nothing: say how many of the grid's cells --out holds, and list the missing ones");
  cmd->add_option("--jobs", jobs, "run cells in this many processes at once, the cores split between them (a busy "
                                  "or many-core machine; results equal the sequential run's up to the order of float "
                                  "sums)")
      ->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--worker", worker, "internal: K/N, the worker process K of N that --jobs starts")
      ->group("");  // hidden
  cmd->callback([&action] {
    action = [] {
      const auto config = load_experiment(config_path);
      RunOptions o;
      o.out_dir = out_dir.empty() ? (std::filesystem::path("results") / std::filesystem::path(config_path).stem()).string()
                                  : out_dir;
      o.stop_after_cells = stop_after;
      check_outputs({{"config", config_path}}, {{"--out", o.out_dir, true}});
      if (!worker.empty()) {
        REBALANCE_CHECK(jobs == 1, "--worker is one of the processes --jobs starts; give one or the other");
        std::cout.setf(std::ios::unitbuf);  // whole lines reach the shared output as they are written
        std::tie(o.worker, o.workers) = parse_worker(worker);
        end_with_parent();
        run_experiment(config, o, std::cout);
        return;
      }
      const int64_t total = static_cast<int64_t>(config.levels.size() * config.seeds.size() * config.methods.size());
      if (status) {
        REBALANCE_CHECK(jobs == 1 && stop_after < 0, "--status runs nothing: it takes neither --jobs nor --stop-after");
        const auto missing = missing_cells(config, o.out_dir);
        std::cout << fmt::format("{}: {} of {} cells in {}\n", config.name, total - static_cast<int64_t>(missing.size()),
                                 total, (std::filesystem::path(o.out_dir) / "results.jsonl").string());
        for (const auto& m : missing)
          std::cout << fmt::format("missing: level {}, seed {}, method {}{}\n", m.level, m.seed, m.method,
                                   m.started ? " (started: a rerun continues it from its checkpoint)" : "");
        return;
      }
      std::cout << fmt::format("{}: {} cells ({} levels x {} seeds x {} methods) -> {}\n", config.name, total,
                               config.levels.size(), config.seeds.size(), config.methods.size(), o.out_dir);
      RunSummary s;
      if (jobs > 1) {
        std::filesystem::create_directories(o.out_dir);
        const int64_t before = order_results(config, o.out_dir);
        clear_cell_claims(o.out_dir);
        run_workers(config_path, o.out_dir, jobs, stop_after);
        clear_cell_claims(o.out_dir);
        const int64_t after = order_results(config, o.out_dir);
        s = {total, before, after - before, (std::filesystem::path(o.out_dir) / "results.jsonl").string()};
      } else {
        s = run_experiment(config, o, std::cout);
      }
      std::cout << fmt::format("done: {} run, {} already in {}, {} of {} complete\n", s.ran, s.skipped, s.results_path,
                               s.ran + s.skipped, s.total);
      if (s.ran + s.skipped == s.total) {
        const auto results = read_results(s.results_path);
        std::cout << "\n" << table_markdown(make_table(results, config.metric, table_order(config)));
      }
    };
  });
}

void add_table_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("table", "tabulate results.jsonl: methods x imbalance levels, mean ± std over seeds");
  static std::string results_path, output, config_path;
  static std::vector<std::string> metric_names = {"f1_macro"};
  cmd->add_option("results", results_path, "results.jsonl written by `rebalance run`")->required();
  cmd->add_option("-m,--metric", metric_names,
                  "metric(s): f1_macro, acsa, gmean, misclassified, per_class.NAME.recall, many_shot, medium_shot, few_shot "
                  "(3+ classes), ..., or a sample-quality "
                  "measure of the synthetic rows: quality.two_sample_auc, quality.memorisation, quality.tstr_recall, ...")
      ->capture_default_str();
  cmd->add_option("-o,--output", output, "also write PREFIX.md and PREFIX.csv (one pair per metric: PREFIX_METRIC.*)");
  cmd->add_option("--config", config_path,
                  "tabulate this experiment config's cells only, rows and columns as it lists its methods and levels "
                  "(default: every row, as they first appear in the results; `run --jobs` adds cells as they finish, "
                  "then puts them in grid order)");
  cmd->callback([&action] {
    action = [] {
      std::vector<NamedPath> outs;
      for (const auto& m : metric_names)
        for (const char* ext : {".md", ".csv"})
          if (!output.empty()) outs.push_back({"--output", (metric_names.size() > 1 ? output + "_" + m : output) + ext});
      check_outputs({{"results", results_path}, {"--config", config_path}}, outs);
      auto results = read_results(results_path);
      REBALANCE_CHECK(!results.empty(), "{}: no results", results_path);
      TableOrder order;
      if (!config_path.empty()) {
        // A table of a config holds its cells only: rows of another version of it (other settings,
        // so other keys) would be averaged in under the same method names.
        const auto config = load_experiment(config_path);
        order = table_order(config);
        int64_t left_out = 0;
        results = rows_of_grid(config, results, &left_out);
        REBALANCE_CHECK(!results.empty(), "{}: none of its {} rows is a cell of {} (rows of another version of the "
                        "config: its data, training or method settings differ)", results_path, left_out, config_path);
        if (left_out > 0)
          std::cerr << fmt::format("note: left out {} row{} of {} that {} no cell of {} (another version of the "
                                   "config: its data, training or method settings differ)\n",
                                   left_out, left_out == 1 ? "" : "s", results_path, left_out == 1 ? "is" : "are",
                                   config_path);
      }
      for (const auto& m : metric_names) {
        const auto t = make_table(results, m, order);
        const auto md = table_markdown(t);
        std::cout << md << "\n";
        if (!output.empty()) {
          const std::string prefix = metric_names.size() > 1 ? output + "_" + m : output;
          AtomicFileGroup files;  // the pair appears together, or (on an error) neither changes
          write_atomic(prefix + ".md", [&](std::ostream& out) { out << md; }, false);
          write_atomic(prefix + ".csv", [&](std::ostream& out) { out << table_csv(t); }, false);
          files.commit();
          std::cout << "wrote " << prefix << ".md and " << prefix << ".csv\n";
        }
      }
    };
  });
}

}  // namespace rebalance::cli
