#include "server/connection_table.h"

#include <algorithm>
#include <utility>

namespace thumbflow::server {

ConnectionTable::ConnectionTable(int max_total, int max_per_address)
    : max_total_(std::max(1, max_total)), max_per_address_(std::max(1, max_per_address)) {}

// 0 when nothing may give way. At the address's cap only its own idle connections are
// candidates; otherwise (the server is full) the heaviest address that has an idle one.
uint64_t ConnectionTable::PickVictimLocked(const std::string& address) const {
  auto own = addresses_.find(address);
  if (own != addresses_.end() && own->second.count >= max_per_address_) {
    return own->second.idle.empty() ? 0 : own->second.idle.front();
  }
  if (total_ < max_total_) return 0;
  const Address* heaviest = nullptr;
  for (const auto& [name, a] : addresses_) {
    if (!a.idle.empty() && (!heaviest || a.count > heaviest->count)) heaviest = &a;
  }
  return heaviest ? heaviest->idle.front() : 0;
}

ConnectionTable::CloseFn ConnectionTable::RemoveLocked(uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return nullptr;
  auto a = addresses_.find(it->second.address);
  if (it->second.idle) a->second.idle.erase(it->second.idle_pos);
  if (--a->second.count == 0) addresses_.erase(a);
  --total_;
  CloseFn close = std::move(it->second.close);
  entries_.erase(it);
  return close;
}

ConnectionTable::Admission ConnectionTable::Admit(const std::string& address, CloseFn close) {
  std::lock_guard lock(mu_);
  Admission admission;
  auto own = addresses_.find(address);
  const bool address_full = own != addresses_.end() && own->second.count >= max_per_address_;
  if (address_full || total_ >= max_total_) {
    uint64_t victim = PickVictimLocked(address);
    if (victim == 0) {
      admission.outcome = address_full ? Outcome::kRefusedAddressFull : Outcome::kRefusedServerFull;
      return admission;
    }
    admission.close_evicted = RemoveLocked(victim);
    ++evicted_;
  }
  admission.outcome = Outcome::kAdmitted;
  admission.id = next_id_++;
  Entry& entry = entries_[admission.id];
  entry.address = address;
  entry.close = std::move(close);
  ++addresses_[address].count;
  ++total_;
  return admission;
}

void ConnectionTable::SetIdle(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.idle) return;
  std::list<uint64_t>& idle = addresses_[it->second.address].idle;
  it->second.idle_pos = idle.insert(idle.end(), id);
  it->second.idle = true;
}

bool ConnectionTable::SetBusy(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  if (it->second.idle) {
    addresses_[it->second.address].idle.erase(it->second.idle_pos);
    it->second.idle = false;
  }
  return true;
}

void ConnectionTable::Release(uint64_t id) {
  CloseFn unused;
  std::lock_guard lock(mu_);
  unused = RemoveLocked(id);  // destroyed after the lock is released
}

int ConnectionTable::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

int ConnectionTable::count(const std::string& address) const {
  std::lock_guard lock(mu_);
  auto it = addresses_.find(address);
  return it == addresses_.end() ? 0 : it->second.count;
}

uint64_t ConnectionTable::evicted() const {
  std::lock_guard lock(mu_);
  return evicted_;
}

}  // namespace thumbflow::server
