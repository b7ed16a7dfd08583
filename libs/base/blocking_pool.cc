#include "libs/base/blocking_pool.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

namespace hisbridge {

BlockingWorkPool::BlockingWorkPool(int threads, std::string name)
    : thread_count_(std::max(1, threads)) {
  const std::string thread_name = name.substr(0, 15);
  for (int i = 0; i < thread_count_; ++i) {
    threads_.emplace_back([this] { Run(); });
    pthread_setname_np(threads_.back().native_handle(), thread_name.c_str());
  }
}

BlockingWorkPool::~BlockingWorkPool() { Stop(); }

bool BlockingWorkPool::Submit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    queue_.push_back(std::move(task));
  }
  work_.notify_one();
  return true;
}

void BlockingWorkPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  work_.notify_all();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
}

int64_t BlockingWorkPool::Queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(queue_.size());
}

int64_t BlockingWorkPool::Completed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return completed_;
}

void BlockingWorkPool::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    // Stopping still drains the queue: every accepted task runs, so a
    // caller that handed off its answer always gets it sent.
    if (queue_.empty()) return;
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    task();
    task = nullptr;  // what it captured is released outside the lock
    lock.lock();
    ++completed_;
  }
}

}  // namespace hisbridge
