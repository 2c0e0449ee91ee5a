// write_atomic and AtomicFileGroup: all or nothing, no temporary file left, errors that say why.
#include <algorithm>
#include <filesystem>

#include "../test_util.hpp"
#include "rebalance/core/atomic_file.hpp"

using namespace rebalance;
using rebalance::testing::TempDir;

namespace {

std::vector<std::string> names(const TempDir& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

void put(const std::string& path, const std::string& text) {
  write_atomic(path, [&](std::ostream& out) { out << text; });
}

}  // namespace

TEST(AtomicFile, WritesAndReplaces) {
  TempDir dir;
  put(dir.file("a.txt"), "one");
  put(dir.file("a.txt"), std::string(200000, 'x'));  // larger than the stream buffer
  EXPECT_EQ(read_file(dir.file("a.txt")), std::string(200000, 'x'));
  EXPECT_EQ(names(dir), std::vector<std::string>{"a.txt"});
}

TEST(AtomicFile, AWriterThatThrowsLeavesTheOldFileAndNoTemporary) {
  TempDir dir;
  put(dir.file("a.txt"), "old");
  EXPECT_ERROR_MENTIONS(write_atomic(dir.file("a.txt"),
                                     [](std::ostream& out) {
                                       out << std::string(100000, 'y');
                                       REBALANCE_THROW("the writer gave up");
                                     }),
                        "the writer gave up");
  EXPECT_EQ(read_file(dir.file("a.txt")), "old");
  EXPECT_EQ(names(dir), std::vector<std::string>{"a.txt"});
}

TEST(AtomicFile, ErrorsNameTheFileAndTheReason) {
  TempDir dir;
  EXPECT_ERROR_MENTIONS(put(dir.file("missing/a.txt"), "x"), "cannot write", "missing/a.txt", "does not exist");
  std::filesystem::create_directories(dir.path() / "sub");
  EXPECT_ERROR_MENTIONS(put(dir.file("sub"), "x"), "cannot write", "is a directory");
  EXPECT_ERROR_MENTIONS(put("/proc/no-such-dir-here/a.txt", "x"), "cannot write /proc/no-such-dir-here/a.txt");
}

TEST(AtomicFileGroup, CommitRenamesEveryFile) {
  TempDir dir;
  {
    AtomicFileGroup files;
    put(dir.file("a"), "1");
    put(dir.file("b"), "2");
    EXPECT_FALSE(std::filesystem::exists(dir.file("a")));  // staged only
    files.commit();
  }
  EXPECT_EQ(read_file(dir.file("a")), "1");
  EXPECT_EQ(read_file(dir.file("b")), "2");
  EXPECT_EQ(names(dir), (std::vector<std::string>{"a", "b"}));
}

TEST(AtomicFileGroup, WithoutCommitNothingChanges) {
  TempDir dir;
  put(dir.file("a"), "old a");
  try {
    AtomicFileGroup files;
    put(dir.file("a"), "new a");
    put(dir.file("b"), "new b");
    REBALANCE_THROW("later failure");
  } catch (const Error&) {
  }
  EXPECT_EQ(read_file(dir.file("a")), "old a");
  EXPECT_EQ(names(dir), std::vector<std::string>{"a"});
}

TEST(AtomicFileGroup, TheInnermostGroupCommitsOnItsOwn) {
  TempDir dir;
  {
    AtomicFileGroup outer;
    put(dir.file("outer"), "o");
    {
      AtomicFileGroup inner;
      put(dir.file("inner"), "i");
      inner.commit();
    }
    EXPECT_TRUE(std::filesystem::exists(dir.file("inner")));
    EXPECT_FALSE(std::filesystem::exists(dir.file("outer")));
  }  // outer not committed
  EXPECT_EQ(names(dir), std::vector<std::string>{"inner"});
  put(dir.file("after"), "a");  // no group left: written at once
  EXPECT_TRUE(std::filesystem::exists(dir.file("after")));
}
