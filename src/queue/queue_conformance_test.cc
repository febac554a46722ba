// The Queue conformance suite for the in-memory fake and the embedded SQLite queue.
#include <filesystem>

#include "core/testing/temp_dir.h"
#include "queue/memory_queue.h"
#include "queue/queue_conformance.h"
#include "queue/sqlite_queue.h"

namespace thumbflow {
namespace {

QueueUnderTest MakeMemory(const QueueOptions& options) {
  auto clock = std::make_shared<ManualClock>();
  QueueUnderTest out;
  auto q = MemoryQueue::Create(options, *clock);
  if (!q.ok()) {
    out.error = q.status().ToString();
    return out;
  }
  out.queue = std::move(q).value();
  out.clock = clock.get();
  out.keep_alive = clock;
  return out;
}

// Owns the temporary folder, the database and the clock of one SQLite queue under test.
struct SqliteFixture {
  testing::TempDir dir;
  ManualClock clock;
  std::shared_ptr<sqlite::Database> db;
};

QueueUnderTest MakeSqlite(const QueueOptions& options) {
  auto fixture = std::make_shared<SqliteFixture>();
  QueueUnderTest out;
  auto db = sqlite::Database::Open(fixture->dir.path() + "/thumbflow.db");
  if (!db.ok()) {
    out.error = db.status().ToString();
    return out;
  }
  fixture->db = *db;
  auto q = SqliteQueue::Open(fixture->db, options, fixture->clock);
  if (!q.ok()) {
    out.error = q.status().ToString();
    return out;
  }
  // The queue must go before the fixture (it holds a listener on the database).
  std::shared_ptr<Queue> queue(std::move(q).value().release(), [fixture](Queue* p) { delete p; });
  out.queue = queue;
  out.clock = &fixture->clock;
  out.keep_alive = fixture;
  return out;
}

INSTANTIATE_TEST_SUITE_P(Adapters, QueueConformanceTest,
                         ::testing::Values(QueueConformanceParam{"memory", &MakeMemory},
                                           QueueConformanceParam{"sqlite", &MakeSqlite}),
                         QueueConformanceParamName);

}  // namespace
}  // namespace thumbflow
