#define BOOST_TEST_MODULE foreach_sink
#include <boost/test/unit_test.hpp>

#include <sluice/sluice.hpp>

#include <set>

using namespace sluice;

namespace {

// Remembers the epochs it finished, so a replayed epoch is declined: exactly-once.
class RecordingWriter final : public ForeachWriter {
 public:
  bool open(int64_t partition_id, int64_t epoch_id) override {
    opened.push_back({partition_id, epoch_id});
    current = epoch_id;
    return !finished.contains(epoch_id);
  }
  Status process(const RowView& row) override {
    auto name = row.get("name");
    if (!name.ok()) return name.status();
    if (fail_on && name->as_string() == *fail_on) return Status::invalid_argument("cannot store " + *fail_on);
    rows.push_back({name->as_string(), row.get(1).as_int64()});
    return Status::ok();
  }
  void close(const Status& error) override {
    closed.push_back(error);
    if (error.is_ok()) finished.insert(current);
  }

  std::vector<std::pair<int64_t, int64_t>> opened;
  std::vector<std::pair<std::string, int64_t>> rows;
  std::vector<Status> closed;
  std::set<int64_t> finished;
  int64_t current = -1;
  std::optional<std::string> fail_on;
};

SchemaPtr people() { return Schema::make({{"name", Type::String}, {"age", Type::Int64}}).value(); }

}  // namespace

BOOST_AUTO_TEST_CASE(each_epoch_is_opened_processed_row_by_row_and_closed) {
  Session session;
  MemoryStream input(session, people());
  auto writer = std::make_shared<RecordingWriter>();
  auto query = input.to_df().filter(col("age") >= lit(18)).write_stream().foreach(writer).start();
  BOOST_REQUIRE_MESSAGE(query.ok(), query.status().to_string());
  BOOST_REQUIRE(input.add_data({{"ann", 30}, {"bob", 12}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(input.add_data({{"cid", 40}}).is_ok());
  BOOST_REQUIRE(query->process_all_available().is_ok());
  BOOST_REQUIRE(query->stop().is_ok());
  BOOST_TEST((writer->rows == std::vector<std::pair<std::string, int64_t>>{{"ann", 30}, {"cid", 40}}));
  BOOST_REQUIRE(writer->opened.size() >= 2u);
  BOOST_TEST(writer->opened.size() == writer->closed.size());
  for (const auto& [partition, epoch] : writer->opened) BOOST_TEST(partition == 0);
  for (const auto& status : writer->closed) BOOST_TEST(status.is_ok());
}

BOOST_AUTO_TEST_CASE(a_replayed_epoch_declined_by_open_is_not_processed_again) {
  auto writer = std::make_shared<RecordingWriter>();
  ForeachSink sink(writer);
  auto batch = RecordBatch::from_rows(people(), {{"ann", 30}}).value();
  BOOST_REQUIRE(sink.write(4, batch).is_ok());
  BOOST_REQUIRE(sink.finish_epoch(4).is_ok());
  BOOST_REQUIRE(sink.write(4, batch).is_ok());  // the replay after a crash
  BOOST_REQUIRE(sink.finish_epoch(4).is_ok());
  BOOST_TEST(writer->rows.size() == 1u);
  BOOST_TEST(writer->opened.size() == 2u);
  BOOST_TEST(writer->closed.size() == 1u);  // close follows only an open that returned true
}

BOOST_AUTO_TEST_CASE(an_error_in_process_is_given_to_close_and_fails_the_query) {
  Session session;
  MemoryStream input(session, people());
  auto writer = std::make_shared<RecordingWriter>();
  writer->fail_on = "bob";
  auto query = input.to_df().write_stream().foreach(writer).start();
  BOOST_REQUIRE(query.ok());
  BOOST_REQUIRE(input.add_data({{"ann", 30}, {"bob", 12}, {"cid", 40}}).is_ok());
  BOOST_TEST(!query->process_all_available().is_ok());
  BOOST_REQUIRE(query->await_termination(std::chrono::seconds(10)));
  auto error = query->exception();
  BOOST_REQUIRE(error.has_value());
  BOOST_TEST(error->message().find("foreach writer at epoch 0: cannot store bob") != std::string::npos,
             error->message());
  BOOST_REQUIRE(writer->closed.size() == 1u);
  BOOST_TEST(writer->closed[0].message() == "cannot store bob");
  BOOST_TEST(writer->rows.size() == 1u);  // processing stopped at the failing row
}
