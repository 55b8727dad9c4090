#include "monitoring/prometheus_text.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <utility>

namespace sluice {

namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

std::string number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return error == std::errc() ? std::string(buffer, end) : "NaN";
}

std::string number(int64_t value) {
  return std::to_string(value);
}

// Writes metric families: each family's HELP and TYPE, then all its samples together, as the
// format requires.
class ExpositionWriter {
 public:
  void family(const std::string& name, const std::string& type, const std::string& help) {
    out_ += "# HELP " + name + " " + help + "\n";
    out_ += "# TYPE " + name + " " + type + "\n";
  }
  template <typename Number>
  void sample(const std::string& name, const Labels& labels, Number value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) out_ += ',';
        out_ += labels[i].first + "=\"" + prometheus_label_value(labels[i].second) + "\"";
      }
      out_ += '}';
    }
    out_ += ' ' + number(value) + '\n';
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

Labels query_labels(const QueryTotals& query) {
  return {{"query", query.name.empty() ? query.id : query.name}, {"query_id", query.id}};
}

Labels with(Labels labels, std::string name, std::string value) {
  labels.emplace_back(std::move(name), std::move(value));
  return labels;
}

const StreamingQueryProgress* last_report(const QueryTotals& query) {
  return query.history.empty() ? nullptr : &query.history.back();
}

// Names operators uniquely within a query, so that two operators of one kind stay two series.
std::vector<std::string> operator_labels(const QueryTotals& query) {
  std::vector<std::string> names;
  for (const auto& op : query.operators) {
    std::string name = op.name;
    int seen = 0;
    for (const auto& earlier : query.operators) {
      if (&earlier == &op) break;
      if (earlier.name == op.name) ++seen;
    }
    if (seen > 0) name += "#" + std::to_string(seen + 1);
    names.push_back(name);
  }
  return names;
}

}  // namespace

std::string prometheus_label_value(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string prometheus_text(const std::vector<QueryTotals>& queries) {
  ExpositionWriter w;
  using Query = const QueryTotals&;
  auto per_query = [&](const std::string& name, const std::string& type, const std::string& help,
                       const std::function<void(Query)>& samples) {
    w.family(name, type, help);
    for (const auto& query : queries)
      samples(query);
  };

  per_query("sluice_query_info", "gauge", "Always 1; labels name the query's current run and sink.",
            [&](Query q) {
              const auto* last = last_report(q);
              w.sample("sluice_query_info",
                       with(with(query_labels(q), "run_id", q.run_id), "sink",
                            last ? last->sink.description : ""),
                       int64_t{1});
            });
  per_query("sluice_query_active", "gauge", "1 while the query runs, 0 once it stopped or failed.",
            [&](Query q) {
              w.sample("sluice_query_active", query_labels(q), int64_t{q.active ? 1 : 0});
            });
  per_query("sluice_query_restarts_total", "counter",
            "Runs of the query (same id, resumed from its checkpoint) after the first one seen.",
            [&](Query q) {
              w.sample("sluice_query_restarts_total", query_labels(q),
                       std::max<int64_t>(q.runs - 1, 0));
            });
  per_query("sluice_query_failures_total", "counter", "Runs of the query that ended with an error.",
            [&](Query q) { w.sample("sluice_query_failures_total", query_labels(q), q.failures); });
  per_query("sluice_query_epochs_total", "counter", "Epochs (micro-batches) committed.",
            [&](Query q) { w.sample("sluice_query_epochs_total", query_labels(q), q.epochs); });
  per_query("sluice_query_last_epoch_id", "gauge", "Id of the last committed epoch.", [&](Query q) {
    if (q.last_batch_id >= 0)
      w.sample("sluice_query_last_epoch_id", query_labels(q), q.last_batch_id);
  });
  per_query("sluice_query_input_rows_total", "counter",
            "Rows read from all sources in committed epochs.", [&](Query q) {
              w.sample("sluice_query_input_rows_total", query_labels(q), q.input_rows_total);
            });
  per_query(
      "sluice_query_input_rows_per_second", "gauge",
      "Input rate of the last epoch: its rows over the time since the previous epoch started.",
      [&](Query q) {
        if (const auto* last = last_report(q))
          w.sample("sluice_query_input_rows_per_second", query_labels(q),
                   last->input_rows_per_second);
      });
  per_query("sluice_query_processed_rows_per_second", "gauge",
            "Processing rate of the last epoch: its rows over its duration.", [&](Query q) {
              if (const auto* last = last_report(q))
                w.sample("sluice_query_processed_rows_per_second", query_labels(q),
                         last->processed_rows_per_second);
            });
  per_query("sluice_query_sink_rows_total", "counter",
            "Rows written to the sink in committed epochs.", [&](Query q) {
              w.sample("sluice_query_sink_rows_total", query_labels(q), q.sink_rows_total);
            });

  w.family("sluice_query_epoch_duration_seconds", "histogram",
           "Duration of each epoch from its trigger to its commit (triggerExecution).");
  for (const auto& q : queries) {
    for (size_t b = 0; b < std::size(kEpochDurationBuckets); ++b) {
      w.sample("sluice_query_epoch_duration_seconds_bucket",
               with(query_labels(q), "le", number(kEpochDurationBuckets[b])),
               q.epoch_duration_buckets.size() > b ? q.epoch_duration_buckets[b] : int64_t{0});
    }
    w.sample("sluice_query_epoch_duration_seconds_bucket", with(query_labels(q), "le", "+Inf"),
             q.epochs);
    w.sample("sluice_query_epoch_duration_seconds_sum", query_labels(q),
             static_cast<double>(q.epoch_ms_total) / 1000.0);
    w.sample("sluice_query_epoch_duration_seconds_count", query_labels(q), q.epochs);
  }
  per_query("sluice_query_last_epoch_duration_seconds", "gauge",
            "Duration of the last epoch from its trigger to its commit.", [&](Query q) {
              const auto* last = last_report(q);
              if (!last) return;
              auto it = last->duration_ms.find("triggerExecution");
              if (it != last->duration_ms.end())
                w.sample("sluice_query_last_epoch_duration_seconds", query_labels(q),
                         static_cast<double>(it->second) / 1000.0);
            });
  per_query(
      "sluice_query_last_epoch_phase_duration_seconds", "gauge",
      "Duration of each phase of the last epoch (latestOffset, walCommit, getBatch, addBatch, "
      "commit, triggerExecution).",
      [&](Query q) {
        const auto* last = last_report(q);
        if (!last) return;
        for (const auto& [phase, ms] : last->duration_ms)
          w.sample("sluice_query_last_epoch_phase_duration_seconds",
                   with(query_labels(q), "phase", phase), static_cast<double>(ms) / 1000.0);
      });
  per_query("sluice_query_epoch_phase_duration_seconds_total", "counter",
            "Time spent in each phase of an epoch, summed over committed epochs.", [&](Query q) {
              for (const auto& [phase, ms] : q.phase_ms_total)
                w.sample("sluice_query_epoch_phase_duration_seconds_total",
                         with(query_labels(q), "phase", phase), static_cast<double>(ms) / 1000.0);
            });
  per_query("sluice_query_last_commit_duration_seconds", "gauge",
            "Time the last epoch took to commit to the checkpoint (state, commit log, watermark).",
            [&](Query q) {
              const auto* last = last_report(q);
              if (!last) return;
              auto it = last->duration_ms.find("commit");
              if (it != last->duration_ms.end())
                w.sample("sluice_query_last_commit_duration_seconds", query_labels(q),
                         static_cast<double>(it->second) / 1000.0);
            });
  per_query("sluice_query_watermark_timestamp_seconds", "gauge",
            "Event-time watermark after the last epoch, as Unix time.", [&](Query q) {
              const auto* last = last_report(q);
              if (!last) return;
              auto it = last->event_time.find("watermark");
              if (it == last->event_time.end()) return;
              if (auto micros = parse_iso_timestamp(it->second))
                w.sample("sluice_query_watermark_timestamp_seconds", query_labels(q),
                         static_cast<double>(*micros) / 1e6);
            });
  per_query("sluice_query_watermark_lag_seconds", "gauge",
            "How far the watermark trails the processing time of the last epoch.", [&](Query q) {
              const auto* last = last_report(q);
              if (!last) return;
              if (auto lag = watermark_lag_seconds(*last))
                w.sample("sluice_query_watermark_lag_seconds", query_labels(q), *lag);
            });

  auto per_source = [&](const std::string& name, const std::string& type, const std::string& help,
                        const std::function<double(const SourceTotals&)>& value) {
    w.family(name, type, help);
    for (const auto& q : queries) {
      for (size_t s = 0; s < q.sources.size(); ++s) {
        Labels labels = with(with(query_labels(q), "source", q.sources[s].description),
                             "source_index", std::to_string(s));
        w.sample(name, labels, value(q.sources[s]));
      }
    }
  };
  per_source("sluice_source_input_rows_total", "counter",
             "Rows read from the source in committed epochs.",
             [](const SourceTotals& s) { return static_cast<double>(s.input_rows_total); });
  per_source("sluice_source_input_rows_per_second", "gauge",
             "Input rate of the source in the last epoch.",
             [](const SourceTotals& s) { return s.input_rows_per_second; });
  per_source("sluice_source_processed_rows_per_second", "gauge",
             "Processing rate of the source's rows in the last epoch.",
             [](const SourceTotals& s) { return s.processed_rows_per_second; });

  w.family("sluice_source_lag_records", "gauge",
           "Records available in a source partition but not read by the last epoch "
           "(latestOffset - endOffset of its progress report).");
  for (const auto& q : queries) {
    const auto* last = last_report(q);
    if (!last) continue;
    for (const auto& lag : source_lag(*last)) {
      Labels labels =
          with(with(query_labels(q), "source", last->sources[lag.source_index].description),
               "source_index", std::to_string(lag.source_index));
      w.sample("sluice_source_lag_records",
               with(std::move(labels), "partition", std::to_string(lag.partition)), lag.records);
    }
  }

  auto per_operator = [&](const std::string& name, const std::string& type, const std::string& help,
                          const std::function<double(const OperatorTotals&)>& value) {
    w.family(name, type, help);
    for (const auto& q : queries) {
      auto names = operator_labels(q);
      for (size_t o = 0; o < q.operators.size(); ++o)
        w.sample(name, with(query_labels(q), "operator", names[o]), value(q.operators[o]));
    }
  };
  per_operator("sluice_state_rows", "gauge",
               "Rows (keys) in the operator's state after the last epoch.",
               [](const OperatorTotals& o) { return static_cast<double>(o.num_rows_total); });
  per_operator("sluice_state_memory_bytes", "gauge",
               "Memory the operator's state used after the last epoch.",
               [](const OperatorTotals& o) { return static_cast<double>(o.memory_used_bytes); });
  per_operator("sluice_state_rows_updated_total", "counter",
               "State rows the operator inserted or updated.",
               [](const OperatorTotals& o) { return static_cast<double>(o.rows_updated_total); });
  per_operator("sluice_state_rows_removed_total", "counter",
               "State rows the operator evicted or removed.",
               [](const OperatorTotals& o) { return static_cast<double>(o.rows_removed_total); });
  per_operator("sluice_state_rows_dropped_by_watermark_total", "counter",
               "Input rows the operator dropped for being behind the watermark.",
               [](const OperatorTotals& o) {
                 return static_cast<double>(o.rows_dropped_by_watermark_total);
               });
  per_operator(
      "sluice_state_commit_duration_seconds", "gauge",
      "Time the operator's state took to commit in the last epoch.",
      [](const OperatorTotals& o) { return static_cast<double>(o.commit_time_ms) / 1000.0; });
  per_operator(
      "sluice_state_partitions", "gauge",
      "Partitions of the operator's state (shuffle partitions).",
      [](const OperatorTotals& o) { return static_cast<double>(o.num_shuffle_partitions); });
  return w.take();
}

}  // namespace sluice
