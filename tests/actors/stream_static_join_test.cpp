#define BOOST_TEST_MODULE stream_static_join
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "tests/support/join_reference.hpp"
#include "tests/support/temporary_directory.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

RecordBatchPtr rows_of(const SchemaPtr& schema, const std::vector<JoinEvent>& events, int side) {
  JoinRows rows;
  for (const auto& event : events)
    if (event.side == side) rows.push_back(event.row);
  return RecordBatch::from_rows(schema, rows).value();
}

// The batch join of the stream's rows with the table, anti joins included.
JoinRows expected_join(JoinType type, const std::vector<JoinEvent>& events, bool with_condition) {
  if (type != JoinType::left_anti) return reference_join(type, events, with_condition);
  const JoinRows semi = reference_join(JoinType::left_semi, events, with_condition);
  JoinRows anti;
  for (const auto& event : events) {
    if (event.side == 0 && !std::binary_search(semi.begin(), semi.end(), event.row)) anti.push_back(event.row);
  }
  std::sort(anti.begin(), anti.end());
  return anti;
}

JoinRows sorted(JoinRows rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_kind_equals_a_batch_join_of_the_same_rows) {
  const uint64_t seed = std::random_device{}();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937_64 random(seed);
  const auto events = random_join_events(random, 300, 60, 40, 5, 0);
  const RecordBatchPtr table = rows_of(join_right_schema(), events, 1);
  for (JoinType type : {JoinType::inner, JoinType::left_outer, JoinType::left_semi, JoinType::left_anti}) {
    for (bool with_condition : {false, true}) {
      Session session;
      MemoryStream stream(session, join_left_schema());
      std::optional<Expr> condition;
      if (with_condition) condition = join_range_condition();
      const std::string name = "j" + std::to_string(static_cast<int>(type)) + (with_condition ? "c" : "");
      auto joined = stream.to_df().join(session.create_data_frame(table), {"k"}, std::string(join_type_name(type)), condition);
      BOOST_REQUIRE_MESSAGE(joined.status().is_ok(), joined.status().to_string());
      BOOST_TEST(!joined.is_streaming() == false);
      auto query = joined.write_stream().format("memory").query_name(name).start();
      BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
      // The stream's rows in random epochs.
      JoinRows pending;
      for (const auto& event : events) {
        if (event.side != 0) continue;
        pending.push_back(event.row);
        if (random() % 40 == 0) {
          BOOST_REQUIRE(stream.add_data(pending).is_ok());
          BOOST_REQUIRE(query->process_all_available().is_ok());
          pending.clear();
        }
      }
      BOOST_REQUIRE(stream.add_data(pending).is_ok());
      BOOST_REQUIRE(query->process_all_available().is_ok());
      BOOST_REQUIRE(query->stop().is_ok());
      BOOST_TEST((sorted(session.memory_table(name)->rows()) == expected_join(type, events, with_condition)),
                 join_type_name(type) << (with_condition ? " with the time condition" : ""));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_static_table_of_files_is_filtered_and_feeds_an_aggregation_in_update_mode) {
  TemporaryDirectory dir;
  std::filesystem::create_directories(dir.file("devices"));
  std::ofstream(dir.file("devices/a.json")) << "{\"k\":1,\"site\":\"north\",\"active\":true}\n"
                                               "{\"k\":2,\"site\":\"south\",\"active\":true}\n"
                                               "{\"k\":3,\"site\":\"north\",\"active\":false}\n";
  Session session;
  auto devices = session.read()
                     .format("json")
                     .schema(Schema::make({{"k", Type::Int64}, {"site", Type::String}, {"active", Type::Bool}}).value())
                     .load(dir.file("devices"))
                     .filter(col("active"))
                     .select("k", "site");
  BOOST_REQUIRE_MESSAGE(devices.status().is_ok(), devices.status().to_string());
  BOOST_TEST(!devices.is_streaming());
  MemoryStream readings(session, Schema::make({{"k", Type::Int64}, {"v", Type::Int64}}).value());
  auto per_site = readings.to_df().join(devices, {"k"}).group_by("site").agg(sum(col("v")).alias("total"));
  const std::string plan = per_site.explain(false);
  BOOST_TEST(plan.find("BroadcastHashJoin [k], inner") != std::string::npos, plan);
  auto query = per_site.write_stream().format("memory").query_name("sites").output_mode(OutputMode::Update).start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(readings.add_data({{1, 10}, {2, 5}, {3, 100}, {4, 7}, {1, 1}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(query->stop().is_ok());
  BOOST_TEST((sorted(session.memory_table("sites")->rows()) == JoinRows{{"north", int64_t{11}}, {"south", int64_t{5}}}));
}

// Runs readings (k, v) joined left_outer with a json table of sites read with `refresh` (none
// when empty): one epoch, then a new file of the table, then another epoch.
JoinRows join_across_a_new_table_file(const std::string& refresh) {
  TemporaryDirectory dir;
  std::filesystem::create_directories(dir.file("sites"));
  std::ofstream(dir.file("sites/a.json")) << "{\"k\":1,\"site\":\"north\"}\n";
  Session session;
  auto reader = session.read().format("json").schema(
      Schema::make({{"k", Type::Int64}, {"site", Type::String}}).value());
  if (!refresh.empty()) reader.option("refresh", refresh);
  auto sites = reader.load(dir.file("sites"));
  BOOST_REQUIRE_MESSAGE(sites.status().is_ok(), sites.status().to_string());
  MemoryStream readings(session, Schema::make({{"k", Type::Int64}, {"v", Type::Int64}}).value());
  auto query = readings.to_df().join(sites, {"k"}, "left_outer").write_stream().format("memory").query_name("r").start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(readings.add_data({{1, 10}, {2, 5}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  // Written under a hidden name and renamed, as a writer of the table would.
  std::ofstream(dir.file("sites/.b.json.tmp")) << "{\"k\":2,\"site\":\"south\"}\n";
  std::filesystem::rename(dir.file("sites/.b.json.tmp"), dir.file("sites/b.json"));
  BOOST_REQUIRE(readings.add_data({{2, 6}, {1, 1}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(query->stop().is_ok());
  return sorted(session.memory_table("r")->rows());
}

BOOST_AUTO_TEST_CASE(a_refreshed_table_is_read_again_when_its_files_change_and_the_next_epoch_sees_it) {
  // The first epoch saw only north; the epoch after the new file sees south too.
  BOOST_TEST((join_across_a_new_table_file("0 seconds") ==
              JoinRows{{int64_t{1}, int64_t{1}, "north"}, {int64_t{1}, int64_t{10}, "north"},
                       {int64_t{2}, int64_t{5}, Value()}, {int64_t{2}, int64_t{6}, "south"}}));
  // Without refresh the table read at the start stays.
  BOOST_TEST((join_across_a_new_table_file("") ==
              JoinRows{{int64_t{1}, int64_t{1}, "north"}, {int64_t{1}, int64_t{10}, "north"},
                       {int64_t{2}, int64_t{5}, Value()}, {int64_t{2}, int64_t{6}, Value()}}));
  // A long interval: the check is not due yet in the second epoch.
  BOOST_TEST((join_across_a_new_table_file("1 hour") ==
              JoinRows{{int64_t{1}, int64_t{1}, "north"}, {int64_t{1}, int64_t{10}, "north"},
                       {int64_t{2}, int64_t{5}, Value()}, {int64_t{2}, int64_t{6}, Value()}}));
}

BOOST_AUTO_TEST_CASE(a_refresh_that_is_not_a_duration_is_refused_naming_it) {
  TemporaryDirectory dir;
  Session session;
  auto sites = session.read().format("json").option("refresh", "often").schema(
      Schema::make({{"k", Type::Int64}}).value()).load(dir.path());
  BOOST_TEST(sites.status().message().find("option refresh = 'often'") != std::string::npos, sites.status().message());
}

BOOST_AUTO_TEST_CASE(a_table_sink_is_read_as_a_static_table) {
  TemporaryDirectory dir;
  auto schema = Schema::make({{"k", Type::Int64}, {"label", Type::String}}).value();
  {
    auto sink = TableSink::make(TableSinkOptions::parse({{"path", dir.file("labels")}, {"key", "k"}}).value(), schema,
                                OutputMode::Update)
                    .value();
    BOOST_REQUIRE(sink->attach({"writer", ""}).is_ok());
    BOOST_REQUIRE(sink->write(0, RecordBatch::from_rows(schema, {{1, "one"}, {2, "two"}}).value()).is_ok());
    BOOST_REQUIRE(sink->finish_epoch(0).is_ok());
  }
  Session session;
  auto labels = session.read().format("table").load(dir.file("labels"));
  BOOST_REQUIRE_MESSAGE(labels.status().is_ok(), labels.status().to_string());
  MemoryStream stream(session, Schema::make({{"k", Type::Int64}}).value());
  auto query = stream.to_df().join(labels, {"k"}, "left_outer").write_stream().format("memory").query_name("l").start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(stream.add_data({{1}, {3}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(query->stop().is_ok());
  BOOST_TEST((sorted(session.memory_table("l")->rows()) == JoinRows{{int64_t{1}, "one"}, {int64_t{3}, Value()}}));
  auto missing = session.read().format("table").load(dir.file("nothing"));
  BOOST_TEST(missing.status().message().find("no table at") != std::string::npos, missing.status().message());
  auto as_stream = session.read_stream().format("table").load(dir.file("labels"));
  BOOST_TEST(as_stream.status().message().find("session.read()") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unsupported_shapes_are_refused_naming_the_rule) {
  Session session;
  MemoryStream stream(session, join_left_schema());
  auto table = session.create_data_frame(RecordBatch::from_rows(join_right_schema(), {{1, Timestamp{0}, 2}}).value());
  auto start = [](const DataFrame& frame) {
    auto query = frame.write_stream().format("noop").output_mode(OutputMode::Update).start();
    if (!query.ok()) return query.status();
    (void)query->stop();
    return Status::ok();
  };
  const Status left_static = start(table.join(stream.to_df(), {"k"}));
  BOOST_TEST(left_static.message().find("takes the stream on the left") != std::string::npos, left_static.message());
  const Status right_outer = start(stream.to_df().join(table, {"k"}, "right_outer"));
  BOOST_TEST(right_outer.message().find("stream-static right_outer join is not supported") != std::string::npos,
             right_outer.message());
  const Status alone = start(table);
  BOOST_TEST(alone.message().find("is not a stream") != std::string::npos, alone.message());
  const Status aggregated = start(stream.to_df().join(table.group_by("k").count(), {"k"}));
  BOOST_TEST(aggregated.message().find("may only filter and select") != std::string::npos, aggregated.message());
  auto rate = session.read().format("rate").load();
  BOOST_TEST(rate.status().message().find("is a stream") != std::string::npos, rate.status().message());
}
