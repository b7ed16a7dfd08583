// A few threads for work that may block (a disk read), so that threads
// that must never block (gRPC's callback threads, which serve every call
// of the process) can hand such work off and go on.
//
// Tasks run in the order they were submitted, each on one of the pool's
// threads. Stop() (also run by the destructor) lets the threads finish
// every task already submitted, then joins them; Submit after Stop is
// refused (returns false, the task is not run) so that the caller can
// answer its own work another way.
//
// Ownership: the pool owns its threads; a task owns what it captures.
// Thread safety: Submit, Stop and the accessors may be called from any
// thread, including from a task (a task must not call Stop: it would wait
// for itself).
#ifndef HISBRIDGE_LIBS_BASE_BLOCKING_POOL_H_
#define HISBRIDGE_LIBS_BASE_BLOCKING_POOL_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hisbridge {

class BlockingWorkPool {
 public:
  // Starts `threads` threads (at least one), named `name` for ps/top
  // (at most 15 characters are kept, the kernel's limit).
  BlockingWorkPool(int threads, std::string name);
  ~BlockingWorkPool();
  BlockingWorkPool(const BlockingWorkPool&) = delete;
  BlockingWorkPool& operator=(const BlockingWorkPool&) = delete;

  // Queues `task`; false (and `task` is dropped unrun) once Stop began.
  bool Submit(std::function<void()> task);

  // Runs what is queued, then joins the threads. Idempotent.
  void Stop();

  // Tasks queued and not yet started.
  int64_t Queued() const;
  // Tasks that have finished since the start.
  int64_t Completed() const;
  int threads() const { return thread_count_; }

 private:
  void Run();

  const int thread_count_;
  mutable std::mutex mu_;
  std::condition_variable work_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  int64_t completed_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace hisbridge

#endif  // HISBRIDGE_LIBS_BASE_BLOCKING_POOL_H_
