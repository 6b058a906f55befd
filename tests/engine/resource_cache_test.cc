#include "engine/resource_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

TEST(ResourceCacheTest, LoadsAKeyOnceForEveryCallerOnAnyThread) {
  ResourceCache cache;
  std::atomic<int> loads{0};
  std::vector<std::shared_ptr<const std::string>> got(16);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&, i] {
      got[i] = cache.Get<std::string>("dict:a", [&] {
        ++loads;
        // Slow enough that the other threads arrive while it loads.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return std::make_unique<std::string>("words");
      });
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(loads.load(), 1);
  EXPECT_EQ(cache.loads(), 1u);
  for (const auto& p : got) {
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p.get(), got.front().get());  // one shared object
    EXPECT_EQ(*p, "words");
  }
}

TEST(ResourceCacheTest, DifferentKeysLoadSeparately) {
  ResourceCache cache;
  const auto a = cache.Get<int>("a", [] { return std::make_unique<int>(1); });
  const auto b = cache.Get<int>("b", [] { return std::make_unique<int>(2); });
  const auto a2 = cache.Get<int>("a", [] { return std::make_unique<int>(3); });
  EXPECT_EQ(*a, 1);
  EXPECT_EQ(*b, 2);
  EXPECT_EQ(a2.get(), a.get());
  EXPECT_EQ(cache.loads(), 2u);
}

TEST(ResourceCacheTest, AFailedLoadThrowsAndIsRetried) {
  ResourceCache cache;
  EXPECT_THROW(
      cache.Get<int>(
          "k", []() -> std::unique_ptr<int> { throw std::runtime_error("corrupt dictionary"); }),
      std::runtime_error);
  EXPECT_EQ(cache.loads(), 0u);
  EXPECT_EQ(*cache.Get<int>("k", [] { return std::make_unique<int>(7); }), 7);
  EXPECT_EQ(cache.loads(), 1u);
}

TEST(ResourceCacheTest, ALoaderMayGetOtherKeys) {
  ResourceCache cache;
  const auto outer = cache.Get<std::string>("outer", [&] {
    const auto inner =
        cache.Get<std::string>("inner", [] { return std::make_unique<std::string>("in"); });
    return std::make_unique<std::string>(*inner + "+out");
  });
  EXPECT_EQ(*outer, "in+out");
  EXPECT_EQ(cache.loads(), 2u);
}

TEST(ResourceCacheTest, FileKeysOfOneFileAgree) {
  testing::ScopedTempDir dir;
  testing::WriteFile(dir.File("vocab.txt"), "a\n");
  const std::string key = ResourceCache::FileKey("vocabulary", {dir.File("vocab.txt")});
  EXPECT_EQ(ResourceCache::FileKey("vocabulary", {dir.path().string() + "/./vocab.txt"}), key);
  EXPECT_NE(ResourceCache::FileKey("jieba", {dir.File("vocab.txt")}), key);
  EXPECT_NE(ResourceCache::FileKey("vocabulary", {dir.File("vocab.txt"), dir.File("user.txt")}),
            key);
}

TEST(ResourceCacheDeathTest, OneKeyAskedForAsTwoTypesIsABug) {
  ResourceCache cache;
  cache.Get<int>("k", [] { return std::make_unique<int>(1); });
  EXPECT_DEATH(cache.Get<std::string>("k", [] { return std::make_unique<std::string>(); }),
               "check failed at .*resource_cache.cc:[0-9]+: .*resource 'k' asked for as two "
               "different types");
}

}  // namespace
}  // namespace corpusflow
