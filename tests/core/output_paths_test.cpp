#include "rebalance/core/output_paths.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "../test_util.hpp"

using namespace rebalance;
using rebalance::testing::TempDir;

TEST(OutputPaths, AnOutputThatIsAnInputIsRefusedWhateverItsSpelling) {
  TempDir dir;
  const auto in = dir.write("in.csv", "a,b\n1,x\n");
  std::filesystem::create_directories(dir.path() / "sub");
  std::filesystem::create_hard_link(in, dir.file("hard.csv"));
  std::filesystem::create_symlink(in, dir.file("soft.csv"));
  for (const auto& out : {in, dir.file("sub/../in.csv"), dir.file("hard.csv"), dir.file("soft.csv")})
    EXPECT_ERROR_MENTIONS(check_outputs({{"--input", in}}, {{"--output", out}}), "--output " + out,
                          "is the input --input " + in);
  check_outputs({{"--input", in}}, {{"--output", dir.file("out.csv")}});  // another file: fine
}

TEST(OutputPaths, OutputsMustDifferAndLieOutsideInputFolders) {
  TempDir dir;
  EXPECT_ERROR_MENTIONS(check_outputs({}, {{"--output", dir.file("a.npy")}, {"--provenance", dir.file("./a.npy")}}),
                        "--output " + dir.file("a.npy"), std::string("--provenance"),
                        std::string("are the same file"));
  std::filesystem::create_directories(dir.path() / "images" / "cat");
  EXPECT_ERROR_MENTIONS(check_outputs({{"--input", dir.file("images")}}, {{"--output", dir.file("images/cat/x.csv")}}),
                        "lies inside the input folder --input");
  EXPECT_ERROR_MENTIONS(check_outputs({{"--input", dir.file("images")}}, {{"--output", dir.file("images"), true}}),
                        "is the input");
  // Built-in data set names are not files: nothing to compare.
  check_outputs({{"--data", "fashion-mnist"}}, {{"--output", dir.file("m.rbm")}});
}

TEST(OutputPaths, UnwritableOutputsAreRefusedUpFront) {
  TempDir dir;
  EXPECT_ERROR_MENTIONS(check_outputs({}, {{"--output", dir.file("no/such/out.csv")}}), "the folder",
                        "does not exist");
  EXPECT_ERROR_MENTIONS(check_outputs({}, {{"--summary", dir.path().string()}}), "is a folder");
  const auto file = dir.write("f", "x");
  EXPECT_ERROR_MENTIONS(check_outputs({}, {{"--checkpoint", file, true}}), "is a file, not a folder");
  check_outputs({}, {{"--checkpoint", dir.file("new/deeper"), true}});  // created later, under a writable folder
  if (::geteuid() != 0) {  // root writes anywhere
    std::filesystem::create_directories(dir.path() / "ro");
    std::filesystem::permissions(dir.path() / "ro", std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    EXPECT_ERROR_MENTIONS(check_outputs({}, {{"--output", dir.file("ro/x.csv")}}), "cannot write --output");
  }
  // The probe leaves nothing behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(OutputPaths, LabelsMapOneToOneOntoFolderNamesAndBack) {
  const std::vector<std::string> labels = {"..", ".", "", "a/b", "a-b", "a:b", "a%3Ab", "%", "50%", "x\\y",
                                           "tab\there", "Café", "...", "a.b", "<>|?*\""};
  std::set<std::string> folders;
  for (const auto& l : labels) {
    const auto f = label_folder(l);
    EXPECT_TRUE(folders.insert(f).second) << "two labels share folder " << f;
    EXPECT_EQ(folder_label(f), l);
    EXPECT_NE(f, ".");
    EXPECT_NE(f, "..");
    EXPECT_FALSE(f.empty());
    EXPECT_EQ(f.find('/'), std::string::npos);
  }
  EXPECT_EQ(label_folder("T-shirt/top"), "T-shirt%2Ftop");
  EXPECT_EQ(label_folder("Ankle boot"), "Ankle boot");  // ordinary names stay readable
  EXPECT_EQ(label_folder(".."), "%2E%2E");
  EXPECT_THROW(label_folder(std::string(300, 'x')), Error);
  EXPECT_THROW(folder_label("bad%4"), Error);
  EXPECT_THROW(folder_label("bad%zz"), Error);
}
