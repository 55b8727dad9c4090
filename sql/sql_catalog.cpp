#include "sql/sql_catalog.hpp"

#include "sql/sql_lexer.hpp"

namespace sluice {

std::shared_ptr<SqlCatalog> SqlCatalog::of(const std::shared_ptr<SessionState>& session) {
  // One catalog per live session. A session cannot hold it (plan/ knows nothing of SQL), so
  // this registry does, dropping the entries of sessions that are gone.
  struct Entry {
    std::weak_ptr<SessionState> session;
    std::shared_ptr<SqlCatalog> catalog;
  };
  static std::mutex mutex;
  static std::map<const SessionState*, Entry> registry;
  std::lock_guard lock(mutex);
  for (auto it = registry.begin(); it != registry.end();) {
    it = it->second.session.expired() ? registry.erase(it) : std::next(it);
  }
  Entry& entry = registry[session.get()];
  if (!entry.catalog) {
    entry.session = session;
    entry.catalog = std::make_shared<SqlCatalog>();
  }
  return entry.catalog;
}

template <typename T>
const T* SqlCatalog::find(const std::map<std::string, T>& map, const std::string& name) {
  if (auto it = map.find(name); it != map.end()) return &it->second;
  const T* match = nullptr;
  for (const auto& [key, value] : map) {
    if (equals_ignoring_case(key, name)) {
      if (match != nullptr) return nullptr;
      match = &value;
    }
  }
  return match;
}

Status SqlCatalog::add_table(Table table, bool replace) {
  std::lock_guard lock(mutex_);
  if (const Table* existing = find(tables_, table.name); existing && !replace) {
    return Status::invalid_argument("a " + existing->kind + " named '" + existing->name +
                                    "' already exists");
  }
  tables_[table.name] = std::move(table);
  return Status::ok();
}

std::optional<SqlCatalog::Table> SqlCatalog::table(const std::string& name) const {
  std::lock_guard lock(mutex_);
  const Table* table = find(tables_, name);
  if (table != nullptr) return *table;
  return std::nullopt;
}

std::vector<std::string> SqlCatalog::table_names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  for (const auto& entry : tables_)
    names.push_back(entry.first);
  return names;
}

void SqlCatalog::add_stream(const std::string& name, PlanPtr plan) {
  std::lock_guard lock(mutex_);
  streams_[name] = std::move(plan);
}

std::optional<PlanPtr> SqlCatalog::stream(const std::string& name) const {
  std::lock_guard lock(mutex_);
  const PlanPtr* plan = find(streams_, name);
  if (plan != nullptr) return *plan;
  return std::nullopt;
}

Status SqlCatalog::add_sink(SinkDeclaration sink) {
  std::lock_guard lock(mutex_);
  if (const SinkDeclaration* existing = find(sinks_, sink.statement.name)) {
    return Status::invalid_argument("a sink named '" + existing->statement.name +
                                    "' already exists");
  }
  const std::string name = sink.statement.name;
  sinks_[name] = std::move(sink);
  return Status::ok();
}

std::optional<SqlCatalog::SinkDeclaration> SqlCatalog::sink(const std::string& name) const {
  std::lock_guard lock(mutex_);
  const SinkDeclaration* sink = find(sinks_, name);
  if (sink != nullptr) return *sink;
  return std::nullopt;
}

std::vector<std::string> SqlCatalog::sink_names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  for (const auto& entry : sinks_)
    names.push_back(entry.first);
  return names;
}

void SqlCatalog::mark_sink_started(const std::string& name) {
  std::lock_guard lock(mutex_);
  if (auto it = sinks_.find(name); it != sinks_.end()) it->second.started = true;
}

}  // namespace sluice
