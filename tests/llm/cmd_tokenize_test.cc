// `lorashare tokenize` / `detokenize` end to end, against llama3-tokenizer-js's
// encoding of the corpus.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "reference_data.h"
#include "test_files.h"

namespace lorashare {
namespace {

using testing::Llama3ReferenceDir;
using testing::ParseIds;
using testing::ReadFileOrDie;

struct CliResult {
  int exit_code;
  std::string out;
};

CliResult Lorashare(const std::string& args) {
  std::string command = std::string(LORASHARE_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buffer[65536];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) out.append(buffer, n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(CmdTokenizeTest, IdsOnlyMatchesReference) {
  const std::string dir = Llama3ReferenceDir();
  CliResult run = Lorashare("tokenize --ids-only --tokenizer " + dir + "/tokenizer.model --file " +
                            dir + "/corpus.txt");
  ASSERT_EQ(run.exit_code, 0);
  EXPECT_TRUE(ParseIds(run.out) == ParseIds(ReadFileOrDie(dir + "/corpus.ids")));
}

TEST(CmdTokenizeTest, JsonAndDetokenize) {
  const std::string dir = Llama3ReferenceDir();
  CliResult run = Lorashare("tokenize --tokenizer " + dir + " 'Hello world! 123<|eot_id|>'");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  auto json = nlohmann::json::parse(run.out);
  EXPECT_EQ(json["ids"], nlohmann::json({9906, 1917, 0, 220, 4513, 128009}));
  EXPECT_EQ(json["tokens"][1]["text"], " world");
  CliResult plain =
      Lorashare("tokenize --ids-only --no-specials --tokenizer " + dir + " '<|eot_id|>'");
  EXPECT_THAT(ParseIds(plain.out), ::testing::Not(::testing::Contains(128009)));
  CliResult back = Lorashare("detokenize --tokenizer " + dir + " 9906 1917 0 220 4513 128009");
  ASSERT_EQ(back.exit_code, 0);
  EXPECT_EQ(back.out, "Hello world! 123<|eot_id|>\n");
}

TEST(CmdTokenizeTest, ChatTemplate) {
  CliResult run = Lorashare("tokenize --ids-only --chat auto --tokenizer " +
                            testing::LlamaCppVocab("qwen2") + " hi");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  std::vector<int32_t> ids = ParseIds(run.out);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), 151644);  // <|im_start|>
}

TEST(CmdTokenizeTest, ErrorsExitNonZero) {
  const std::string dir = Llama3ReferenceDir();
  CliResult missing = Lorashare("tokenize --tokenizer /no/such/file hi");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.out, ::testing::HasSubstr("/no/such/file"));
  CliResult range = Lorashare("detokenize --tokenizer " + dir + " 1 128256");
  EXPECT_EQ(range.exit_code, 1);
  EXPECT_THAT(range.out, ::testing::HasSubstr("128256"));
  std::string bad = testing::WriteTestFile("bad.txt", "ok \xC3\x28");
  CliResult utf8 = Lorashare("tokenize --tokenizer " + dir + " --file " + bad);
  EXPECT_NE(utf8.exit_code, 0);
  EXPECT_THAT(utf8.out, ::testing::HasSubstr("not valid UTF-8 at byte 3"));
  EXPECT_EQ(Lorashare("tokenize --tokenizer " + dir).exit_code, 2);
}

}  // namespace
}  // namespace lorashare
