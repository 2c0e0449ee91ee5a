// rebalance: the command-line front end. Usage errors exit 2, runtime errors print
// "error: ..." and exit 1; no exception or crash escapes.
#include <c10/util/Exception.h>

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <iterator>
#include <cstdlib>
#include <iostream>
#include <new>
#include <stdexcept>

#include "commands.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/memory.hpp"
#include "rebalance/core/system.hpp"
#include "rebalance/core/tensor_archive.hpp"

namespace {

/// OpenMP's spinning waiters collapse when the cores are shared: a 6-epoch LeNet `train` took 134 s
/// beside a second one with OpenMP's default and 7.3 s with OMP_WAIT_POLICY=PASSIVE, and the same
/// 4.6 s and 4.1 s alone (bench/busy_machine.py, 2 cores, docs/scale.md). libgomp reads the policy
/// once, when it is loaded, before main: so the commands that train start themselves again with
/// PASSIVE unless the environment chose a policy (REBALANCE_KEEP_OMP=1 keeps OpenMP's default).
void prefer_passive_openmp(int argc, char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("REBALANCE_KEEP_OMP")) return;
  const char* command = nullptr;
  for (int i = 1; i < argc && !command; ++i)
    if (argv[i][0] != '-') command = argv[i];
  if (!command) return;
  static const char* const training[] = {"train", "lr-find", "pretrain", "generate", "run", "demo", "embed"};
  if (std::none_of(std::begin(training), std::end(training),
                   [command](const char* t) { return std::strcmp(t, command) == 0; }))
    return;
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: then run on as we are
}

}  // namespace

int main(int argc, char** argv) {
  prefer_passive_openmp(argc, argv);
  // Past a file size limit (ulimit -f) write() then fails with EFBIG, reported as an error,
  // instead of the signal killing the program midway.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"rebalance: learning from class-imbalanced data (samplers, losses, generators, metrics)",
               "rebalance"};
  app.require_subcommand(1);
  app.set_version_flag("--version", REBALANCE_CLI_VERSION);
  // Subcommands take the global flags too: `rebalance predict --trust-legacy-files ...`.
  app.fallthrough();
  static bool trust_legacy = false;
  app.add_flag("--trust-legacy-files", trust_legacy,
               "read model, generator and checkpoint files written before rebalance 0.2 (torch archives, which run "
               "code when loaded: only files you made yourself)");
  rebalance::cli::Action action;
  rebalance::cli::add_version_command(app, action);
  rebalance::cli::add_datasets_command(app, action);
  rebalance::cli::add_evaluate_command(app, action);
  rebalance::cli::add_resample_command(app, action);
  rebalance::cli::add_methods_command(app, action);
  rebalance::cli::add_loss_command(app, action);
  rebalance::cli::add_train_command(app, action);
  rebalance::cli::add_lr_find_command(app, action);
  rebalance::cli::add_pretrain_command(app, action);
  rebalance::cli::add_embed_command(app, action);
  rebalance::cli::add_predict_command(app, action);
  rebalance::cli::add_run_command(app, action);
  rebalance::cli::add_table_command(app, action);
  rebalance::cli::add_report_command(app, action);
  rebalance::cli::add_auto_command(app, action);
  rebalance::cli::add_generate_command(app, action);
  rebalance::cli::add_demo_command(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  try {
    rebalance::set_trust_legacy_archives(trust_legacy);
    rebalance::configure_threads();
    rebalance::configure_memory();
    if (action) action();
    return 0;
  } catch (const rebalance::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    if (std::getenv("REBALANCE_DEBUG")) std::cerr << "  (raised at " << e.where() << ")\n";
  } catch (const std::bad_alloc&) {
    std::cerr << "error: out of memory: the command needs more memory than this machine could give it\n";
  } catch (const std::length_error& e) {
    std::cerr << "error: a size too large to hold (" << e.what() << ")\n";
  } catch (const c10::Error& e) {
    std::cerr << "error: " << e.what_without_backtrace() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
  }
  return 1;
}
