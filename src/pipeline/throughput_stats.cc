#include "pipeline/throughput_stats.h"

#include <utility>

namespace thumbflow::pipeline {

namespace {

const std::vector<std::string>& Migrations() {
  static const std::vector<std::string> migrations = {
      "CREATE TABLE IF NOT EXISTS pipeline_throughput ("
      " minute INTEGER PRIMARY KEY, messages INTEGER NOT NULL DEFAULT 0,"
      " records INTEGER NOT NULL DEFAULT 0, ok INTEGER NOT NULL DEFAULT 0,"
      " duplicates INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0,"
      " gone INTEGER NOT NULL DEFAULT 0, permanent INTEGER NOT NULL DEFAULT 0,"
      " transient INTEGER NOT NULL DEFAULT 0, aborted INTEGER NOT NULL DEFAULT 0)",
      // Removal records (ok, no thumbnails made) counted apart from ok.
      "ALTER TABLE pipeline_throughput ADD COLUMN removed INTEGER NOT NULL DEFAULT 0"};
  return migrations;
}

constexpr int64_t kKeepMinutes = 24 * 60;

}  // namespace

Result<std::unique_ptr<ThroughputStats>> ThroughputStats::Open(std::shared_ptr<sqlite::Database> db,
                                                               const Clock& clock) {
  RETURN_IF_ERROR(db->Write([](sqlite::Transaction& tx) {
    return tx.EnsureSchema("pipeline_throughput", Migrations());
  }));
  return std::unique_ptr<ThroughputStats>(new ThroughputStats(std::move(db), clock));
}

ThroughputStats::~ThroughputStats() { (void)Flush(); }

void ThroughputStats::Add(const MessageResult& result) {
  int64_t minute = clock_.NowMillis() / 60'000;
  std::lock_guard<std::mutex> lock(mu_);
  ThroughputWindow& w = pending_[minute];
  ++w.messages;
  for (const RecordResult& r : result.records) {
    ++w.records;
    switch (r.outcome) {
      case Outcome::kOk:
        if (r.removal) {
          ++w.removed;
        } else {
          ++w.ok;
          if (r.duplicate) ++w.duplicates;
        }
        break;
      case Outcome::kSkipped:
        ++w.skipped;
        break;
      case Outcome::kGone:
        ++w.gone;
        break;
      case Outcome::kPermanent:
        ++w.permanent;
        break;
      case Outcome::kTransient:
        ++w.transient;
        break;
      case Outcome::kAborted:
        ++w.aborted;
        break;
    }
  }
  if (result.records.empty() && result.action == MessageAction::kDeadLetter) ++w.permanent;
}

Status ThroughputStats::Flush() {
  std::map<int64_t, ThroughputWindow> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(pending_);
    last_flush_ms_ = clock_.NowMillis();
  }
  if (batch.empty()) return Status::Ok();
  int64_t oldest_kept = clock_.NowMillis() / 60'000 - kKeepMinutes;
  Status status = db_->Write([&](sqlite::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(
        sqlite::Statement * upsert,
        tx.Prepare("INSERT INTO pipeline_throughput (minute, messages, records, ok,"
                   " duplicates, skipped, gone, permanent, transient, aborted, removed)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                   " ON CONFLICT(minute) DO UPDATE SET"
                   " messages = messages + ?2, records = records + ?3, ok = ok + ?4,"
                   " duplicates = duplicates + ?5, skipped = skipped + ?6,"
                   " gone = gone + ?7, permanent = permanent + ?8,"
                   " transient = transient + ?9, aborted = aborted + ?10,"
                   " removed = removed + ?11"));
    for (const auto& [minute, w] : batch) {
      upsert->Bind(1, minute).Bind(2, w.messages).Bind(3, w.records).Bind(4, w.ok);
      upsert->Bind(5, w.duplicates).Bind(6, w.skipped).Bind(7, w.gone).Bind(8, w.permanent);
      upsert->Bind(9, w.transient).Bind(10, w.aborted).Bind(11, w.removed);
      RETURN_IF_ERROR(upsert->Run());
    }
    ASSIGN_OR_RETURN(sqlite::Statement * prune,
                     tx.Prepare("DELETE FROM pipeline_throughput WHERE minute < ?1"));
    prune->Bind(1, oldest_kept);
    return prune->Run();
  });
  if (!status.ok()) {
    // Counts are statistics: put them back for the next attempt rather than lose them.
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [minute, w] : batch) {
      ThroughputWindow& into = pending_[minute];
      into.messages += w.messages;
      into.records += w.records;
      into.ok += w.ok;
      into.duplicates += w.duplicates;
      into.skipped += w.skipped;
      into.gone += w.gone;
      into.permanent += w.permanent;
      into.transient += w.transient;
      into.aborted += w.aborted;
      into.removed += w.removed;
    }
  }
  return status;
}

MessageObserver ThroughputStats::Observer() {
  return [this](const Message&, const MessageResult& result) {
    Add(result);
    bool due = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      due = clock_.NowMillis() - last_flush_ms_ >= 1000;
    }
    if (due) (void)Flush();
  };
}

Result<ThroughputWindow> ThroughputStats::ReadRecent(sqlite::Database& db, int64_t now_ms,
                                                     int64_t seconds) {
  ThroughputWindow w;
  w.seconds = seconds;
  int64_t last_minute = now_ms / 60'000;
  int64_t first_minute = (now_ms - seconds * 1000) / 60'000;
  RETURN_IF_ERROR(db.Read([&](sqlite::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(sqlite::Statement * exists,
                     tx.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                                " AND name = 'pipeline_throughput'"));
    ASSIGN_OR_RETURN(bool has_table, exists->Step());
    exists->Reset();
    if (!has_table) return Status::Ok();
    // A file a thumbflow before the `removed` column wrote (and still writes): none counted.
    ASSIGN_OR_RETURN(sqlite::Statement * has_removed,
                     tx.Prepare("SELECT 1 FROM pragma_table_info('pipeline_throughput')"
                                " WHERE name = 'removed'"));
    ASSIGN_OR_RETURN(bool removed_column, has_removed->Step());
    has_removed->Reset();
    ASSIGN_OR_RETURN(
        sqlite::Statement * sum,
        tx.Prepare(
            std::string("SELECT total(messages), total(records), total(ok), total(duplicates),"
                        " total(skipped), total(gone), total(permanent), total(transient),"
                        " total(aborted), ") +
            (removed_column ? "total(removed)" : "0") +
            " FROM pipeline_throughput WHERE minute BETWEEN ?1 AND ?2"));
    sum->Bind(1, first_minute).Bind(2, last_minute);
    ASSIGN_OR_RETURN(bool row, sum->Step());
    if (row) {
      w.messages = sum->ColumnInt(0);
      w.records = sum->ColumnInt(1);
      w.ok = sum->ColumnInt(2);
      w.duplicates = sum->ColumnInt(3);
      w.skipped = sum->ColumnInt(4);
      w.gone = sum->ColumnInt(5);
      w.permanent = sum->ColumnInt(6);
      w.transient = sum->ColumnInt(7);
      w.aborted = sum->ColumnInt(8);
      w.removed = sum->ColumnInt(9);
      sum->Reset();
    }
    return Status::Ok();
  }));
  return w;
}

}  // namespace thumbflow::pipeline
