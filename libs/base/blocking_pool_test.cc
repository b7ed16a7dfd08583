#include "libs/base/blocking_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace hisbridge {
namespace {

TEST(BlockingWorkPoolTest, RunsEverySubmittedTaskOnThePoolsThreads) {
  BlockingWorkPool pool(3, "test-pool");
  EXPECT_EQ(pool.threads(), 3);
  std::mutex mu;
  std::set<std::thread::id> ran_on;
  std::atomic<int> ran{0};
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(pool.Submit([&] {
      std::lock_guard<std::mutex> lock(mu);
      ran_on.insert(std::this_thread::get_id());
      ++ran;
    }));
  }
  pool.Stop();
  EXPECT_EQ(ran.load(), 100);
  EXPECT_EQ(pool.Completed(), 100);
  EXPECT_EQ(ran_on.count(std::this_thread::get_id()), 0u);
  EXPECT_LE(ran_on.size(), 3u);
}

TEST(BlockingWorkPoolTest, AQueuedTaskStartsWhileAnotherBlocks) {
  BlockingWorkPool pool(2, "test-pool");
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<bool> second_ran{false};
  pool.Submit([&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
  });
  pool.Submit([&] { second_ran = true; });
  for (int i = 0; i < 500 && !second_ran; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_TRUE(second_ran.load()) << "the second thread did not take the queued task";
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
}

TEST(BlockingWorkPoolTest, StopRunsWhatIsQueuedAndRefusesNewTasks) {
  BlockingWorkPool pool(1, "test-pool");
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> ran{0};
  pool.Submit([&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
    ++ran;
  });
  for (int i = 0; i < 5; ++i) pool.Submit([&] { ++ran; });
  EXPECT_GE(pool.Queued(), 5);
  std::thread stopper([&] { pool.Stop(); });
  // Stop has begun once Submit is refused; the blocked task still holds the thread.
  while (pool.Submit([&] { ran += 1000; })) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  stopper.join();
  // Tasks accepted before Stop all ran; refused ones did not. A task that
  // slipped in before Stop began counts 1000.
  EXPECT_EQ(ran.load() % 1000, 6);
  EXPECT_FALSE(pool.Submit([] {}));
  pool.Stop();  // again: nothing happens
}

}  // namespace
}  // namespace hisbridge
