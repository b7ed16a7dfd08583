#include "libs/kafka/producer.h"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/base/logging.h"
#include "libs/kafka/rdkafka_util.h"

namespace hisbridge::kafka {

struct Producer::Impl {
  rd_kafka_t* rk = nullptr;
  std::thread poller;
  std::atomic<bool> stopping{false};
  bool block_when_full = false;
  mutable std::mutex mu;
  absl::Status fatal;  // guarded by mu

  ~Impl() {
    stopping = true;
    if (poller.joinable()) poller.join();
    if (rk != nullptr) {
      // Give queued messages a last chance, then fail what remains so that
      // every callback still runs exactly once (purge triggers the delivery
      // reports with ERR__PURGE_QUEUE / ERR__PURGE_INFLIGHT).
      rd_kafka_flush(rk, 5000);
      rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(rk, 0);
      rd_kafka_destroy(rk);
    }
  }

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
    auto* done = static_cast<DeliveryCallback*>(msg->_private);
    if (done == nullptr) return;
    Delivery d;
    d.topic = rd_kafka_topic_name(msg->rkt);
    d.partition = msg->partition;
    d.offset = msg->offset;
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const absl::Status s = internal::ToStatus(msg->err, absl::StrCat("delivery to ", d.topic));
      // Purged or timed-out messages were never confirmed: retryable.
      d.status = s.code() == absl::StatusCode::kInternal && (msg->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
                                                             msg->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
                     ? absl::UnavailableError(s.message())
                     : s;
    }
    (*done)(d);
    delete done;
  }

  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char buf[512];
      const rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
      std::lock_guard<std::mutex> lock(self->mu);
      self->fatal = internal::ToStatus(orig, absl::StrCat("fatal producer error: ", buf));
      log::Error("Kafka producer fatal error", {{"error", buf}});
      return;
    }
    // Transient errors (broker down, resolve failures) are retried by
    // librdkafka; log them at debug level to avoid noise while a broker
    // restarts.
    log::Debug("Kafka producer error", {{"code", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))},
                                        {"reason", reason}});
  }
};

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Producer::~Producer() = default;

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(const KafkaConfig& config,
                                                           const ProducerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->block_when_full = options.block_when_full;
  internal::ConfBuilder conf;
  absl::Status s = conf.ApplyCommon(config);
  for (const auto& [key, value] : std::initializer_list<std::pair<std::string, std::string>>{
           {"enable.idempotence", "true"},
           {"acks", "all"},
           {"partitioner", "murmur2_random"},
           {"compression.type", options.compression},
           {"linger.ms", std::to_string(absl::ToInt64Milliseconds(options.linger))},
           {"message.timeout.ms", std::to_string(absl::ToInt64Milliseconds(options.delivery_timeout))},
           {"queue.buffering.max.messages", std::to_string(options.queue_max_messages)},
       }) {
    if (!s.ok()) break;
    s = conf.Set(key, value);
  }
  if (!s.ok()) return s;
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &Impl::OnDelivery);
  rd_kafka_conf_set_error_cb(conf.get(), &Impl::OnError);
  internal::RouteLogs(conf.get());
  rd_kafka_conf_set_opaque(conf.get(), impl.get());
  char errstr[512];
  impl->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr));
  if (impl->rk == nullptr) return absl::InvalidArgumentError(absl::StrCat("cannot create Kafka producer: ", errstr));
  conf.release();
  Impl* raw = impl.get();
  impl->poller = std::thread([raw] {
    while (!raw->stopping.load()) rd_kafka_poll(raw->rk, 50);
  });
  return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

void Producer::Produce(const std::string& topic, absl::string_view key, absl::string_view value,
                       DeliveryCallback done, int32_t partition, absl::Time timestamp) {
  auto* callback = new DeliveryCallback(std::move(done));
  const int64_t ts_ms = timestamp == absl::InfinitePast() ? 0 : absl::ToUnixMillis(timestamp);
  int flags = RD_KAFKA_MSG_F_COPY;
  if (impl_->block_when_full) flags |= RD_KAFKA_MSG_F_BLOCK;
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      impl_->rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_MSGFLAGS(flags),
      RD_KAFKA_V_TIMESTAMP(ts_ms), RD_KAFKA_V_OPAQUE(callback), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    Delivery d;
    d.topic = topic;
    d.status = err == RD_KAFKA_RESP_ERR__QUEUE_FULL
                   ? absl::ResourceExhaustedError(absl::StrCat("producer queue to ", topic, " is full"))
                   : internal::ToStatus(err, absl::StrCat("produce to ", topic));
    (*callback)(d);
    delete callback;
  }
}

absl::Status Producer::Flush(absl::Duration timeout) {
  const rd_kafka_resp_err_t err =
      rd_kafka_flush(impl_->rk, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    return absl::DeadlineExceededError(
        absl::StrCat(rd_kafka_outq_len(impl_->rk), " Kafka messages still unconfirmed after ",
                     absl::FormatDuration(timeout)));
  }
  return internal::ToStatus(err, "flush");
}

int Producer::InFlight() const { return rd_kafka_outq_len(impl_->rk); }

absl::StatusOr<int> Producer::PartitionCount(const std::string& topic, absl::Duration timeout) {
  return internal::PartitionCount(impl_->rk, topic, timeout);
}

absl::Status Producer::Health() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->fatal;
}

}  // namespace hisbridge::kafka
