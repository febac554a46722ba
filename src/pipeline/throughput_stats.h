// ThroughputStats: per-minute counts of finished records in table `pipeline_throughput` of
// the embedded mode's SQLite file (DIR/thumbflow.db), so that `thumbflow status` (another
// process) can report recent throughput without talking to the running server.
//
// Table pipeline_throughput(minute INTEGER PRIMARY KEY  -- Unix time / 60
//                           messages, records, ok, duplicates, skipped, gone, permanent,
//                           transient, aborted, removed INTEGER)  -- counts finished in
//                                                                    that minute
// Rows older than a day are deleted when flushing.
//
// Writes are batched: Add() only counts in memory; the counts reach the file at the next
// Flush(), which the observer returned by Observer() calls at most once per second, and
// the destructor calls once more. A crash loses at most the last second of counts (only
// statistics; no message is affected).
//
// Thread-safety: Add, Flush and the observer may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "core/clock.h"
#include "core/result.h"
#include "pipeline/worker_pool.h"
#include "sqlite/database.h"

namespace thumbflow::pipeline {

struct ThroughputWindow {
  int64_t seconds = 0;  // length of the window
  int64_t messages = 0;
  int64_t records = 0;
  int64_t ok = 0;
  int64_t duplicates = 0;
  int64_t skipped = 0;
  int64_t gone = 0;
  int64_t permanent = 0;
  int64_t transient = 0;
  int64_t aborted = 0;
  int64_t removed = 0;  // removal records (ok outcome, thumbnails deleted): not in `ok`
};

class ThroughputStats {
 public:
  // Creates the table when missing. `clock` must outlive the object.
  static Result<std::unique_ptr<ThroughputStats>> Open(std::shared_ptr<sqlite::Database> db,
                                                       const Clock& clock);
  ~ThroughputStats();
  ThroughputStats(const ThroughputStats&) = delete;
  ThroughputStats& operator=(const ThroughputStats&) = delete;

  void Add(const MessageResult& result);
  Status Flush();
  // For WorkerPool::SetMessageObserver: Add(), then Flush() when the last one is >= 1 s old.
  MessageObserver Observer();

  // Counts of the minutes that overlap the last `seconds` (whole minutes: the current one
  // and the ones before it). Missing table: all zero.
  static Result<ThroughputWindow> ReadRecent(sqlite::Database& db, int64_t now_ms, int64_t seconds);

 private:
  ThroughputStats(std::shared_ptr<sqlite::Database> db, const Clock& clock)
      : db_(std::move(db)), clock_(clock) {}

  std::shared_ptr<sqlite::Database> db_;
  const Clock& clock_;
  std::mutex mu_;
  std::map<int64_t, ThroughputWindow> pending_;  // by minute
  int64_t last_flush_ms_ = 0;
};

}  // namespace thumbflow::pipeline
