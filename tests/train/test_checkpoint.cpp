// Training states in HDF5: a bit-exact round trip, keep_last, what a killed or failed write leaves behind, and the
// checksums of format version 2 (docs/checkpoint-format.md): flipped bytes anywhere are refused, version 1 is read.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "support/expect_error.h"
#include "sft_fixture.h"
#include "support/files.h"
#include "train/checkpoint.h"

using namespace gt;
using namespace gt::train;
using namespace gt::testing;
namespace fs = std::filesystem;

namespace {

// A state whose every value depends on `step`, so a file read back can be checked against the step it claims.
TrainingState make_state(int64_t step, int64_t rows = 64) {
  TrainingState s;
  s.trainer = "test";
  s.step = step;
  s.config_hash = "00ff";
  s.meta = {{"epoch", step / 3}, {"rng", {{"shuffle", {uint64_t{0xffffffffffffffffull}, uint64_t{1}, step, 3}}}}};
  std::vector<float> w(static_cast<size_t>(rows * 32));
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(step) + static_cast<float>(i) * 1e-3f;
  s.model = {{"embed.weight", Tensor::from_vector(w, {rows, 32})},
             {"norm.weight", Tensor::from_vector({1.5f, -0.0f, 1e-30f}, {3}, DType::BF16)},
             {"layer_scalar", Tensor::from_vector({0.25f}, {1})}};
  s.optimizer.steps = step;
  s.optimizer.lr = 2e-5;
  s.optimizer.tensors = {{"embed.weight.step", Tensor::from_ids({step}, {})},
                         {"embed.weight.exp_avg_sq_row", Tensor::full({rows}, 0.5)},
                         {"norm.weight.master", Tensor::from_vector({1.5f, -0.0f, 1e-30f}, {3})}};
  s.extra = {{"permutation", Tensor::from_ids({2, 0, 1}, {3})},
             {"i32", Tensor::from_ids({-7, 9}, {2}, DType::I32)},
             {"empty", Tensor::zeros({0, 4})}};
  return s;
}

template <class A, class B>
void expect_same_tensors(const A& a, const B& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    const Tensor &x = a[i].second, &y = b[i].second;
    ASSERT_EQ(x.dtype(), y.dtype()) << a[i].first;
    ASSERT_EQ(x.shape(), y.shape()) << a[i].first;
    const Tensor cx = x.contiguous(), cy = y.contiguous();
    if (x.numel() == 0) continue;  // an empty tensor has no storage to compare (memcmp of null is undefined)
    EXPECT_EQ(0, std::memcmp(cx.raw(), cy.raw(), static_cast<size_t>(x.numel()) * dtype_size(x.dtype()))) << a[i].first;
  }
}

void expect_state_of_step(const TrainingState& s, int64_t step, int64_t rows = 64) {
  const TrainingState want = make_state(step, rows);
  EXPECT_EQ(s.step, step);
  EXPECT_EQ(s.meta, want.meta);
  expect_same_tensors(s.model, want.model);
  expect_same_tensors(s.optimizer.tensors, want.optimizer.tensors);
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

void copy_truncated(const fs::path& from, const fs::path& to, double fraction) {
  std::ifstream in(from, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(to, std::ios::binary) << bytes.substr(
      0, static_cast<size_t>(static_cast<double>(bytes.size()) * fraction));
}

// Where a dataset's stored bytes lie in the file: offset and size.
std::pair<uint64_t, uint64_t> data_extent(const fs::path& file, const char* dataset) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
  const std::pair<uint64_t, uint64_t> out{H5Dget_offset(d), H5Dget_storage_size(d)};
  H5Dclose(d);
  H5Fclose(f);
  return out;
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& file, const std::string& bytes) { std::ofstream(file, std::ios::binary) << bytes; }

// Turns a version-2 file into what version 1 wrote: no checksum attributes, "version": 1 in meta.
void make_version_1(const fs::path& file) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  for (const char* group : {"model", "optimizer", "extra"}) {
    const hid_t g = H5Gopen2(f, group, H5P_DEFAULT);
    H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, nullptr,
               [](hid_t loc, const char* name, const H5L_info_t*, void*) -> herr_t {
                 const hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
                 H5Adelete(d, "crc32c");
                 H5Dclose(d);
                 return 0;
               },
               nullptr);
    H5Gclose(g);
  }
  const hid_t d = H5Dopen2(f, "meta", H5P_DEFAULT);
  const hid_t type = H5Dget_type(d);
  std::string meta(H5Tget_size(type), '\0');
  H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, meta.data());
  H5Adelete(d, "crc32c");
  const size_t at = meta.find("\"version\":2");
  ASSERT_NE(at, std::string::npos) << meta;
  meta[at + 10] = '1';
  H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, meta.data());
  H5Tclose(type);
  H5Dclose(d);
  H5Fclose(f);
}

// A training-state file holding only `meta` and the three empty groups.
void write_meta_only(const fs::path& file, const std::string& meta) {
  const hid_t f = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, meta.size());
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t d = H5Dcreate2(f, "meta", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, meta.data());
  H5Dclose(d);
  H5Sclose(space);
  H5Tclose(type);
  for (const char* g : {"model", "optimizer", "extra"}) H5Gclose(H5Gcreate2(f, g, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Fclose(f);
}

}  // namespace

// Fields of the wrong type in meta are errors naming the file (a fuzzer found "version": "1" escaping as nlohmann's
// type_error).
TEST(Checkpoint, MetaFieldsOfTheWrongTypeAreErrorsNamingTheFile) {
  TempDir d;
  const fs::path file = d.path / "step-00000001.h5";
  write_meta_only(file, R"({"format":"gemma-tune training state","version":"1"})");
  expect_error([&] { read_training_state(file.string()); }, {"step-00000001.h5", "no integer 'version'"});
  write_meta_only(file, R"({"format":7,"version":1})");
  expect_error([&] { read_training_state(file.string()); }, {"step-00000001.h5", "not a gemma-tune training state"});
}

TEST(Checkpoint, AStateRoundTripsBitForBit) {
  TempDir d;
  const TrainingState s = make_state(12);
  const std::string path = (d.path / "s.h5").string();
  write_training_state(path, s);
  const TrainingState r = read_training_state(path);
  EXPECT_EQ(r.trainer, "test");
  EXPECT_EQ(r.config_hash, "00ff");
  EXPECT_EQ(r.optimizer.steps, 12);
  EXPECT_EQ(r.optimizer.lr, 2e-5);
  EXPECT_EQ(r.meta["rng"]["shuffle"][0].get<uint64_t>(), 0xffffffffffffffffull);
  expect_state_of_step(r, 12);
  expect_same_tensors(r.extra, s.extra);
  EXPECT_EQ(files_in(d.path), std::vector<std::string>{"s.h5"});  // no temporary left
}

TEST(Checkpoint, KeepLastPrunesOlderStatesAndLatestNamesTheNewest) {
  TempDir d;
  CheckpointDir ck((d.path / "ck").string(), 2);
  EXPECT_FALSE(ck.latest());
  for (int64_t step = 1; step <= 5; ++step) ck.save(make_state(step));
  EXPECT_EQ(ck.steps(), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(*ck.latest(), ck.path_for(5));
  EXPECT_EQ(files_in(d.path / "ck"), (std::vector<std::string>{"latest", "step-00000004.h5", "step-00000005.h5"}));
  expect_state_of_step(read_training_state(*ck.latest()), 5);

  CheckpointDir all((d.path / "all").string(), 0);
  for (int64_t step = 1; step <= 4; ++step) all.save(make_state(step));
  EXPECT_EQ(all.steps(), (std::vector<int64_t>{1, 2, 3, 4}));
}

TEST(Checkpoint, AWriteThatFailsMidwayLeavesTheLastGoodCheckpoint) {
  TempDir d;
  CheckpointDir ck(d.path.string(), 3);
  ck.save(make_state(1));
  // The writer throws after the meta and the model group are on disk (a dataset name HDF5 cannot take).
  TrainingState bad = make_state(2);
  bad.extra.emplace_back("bad/name", Tensor::zeros({2}));
  expect_error([&] { ck.save(bad); }, {"step-00000002.h5", "bad/name"});
  EXPECT_EQ(*ck.latest(), ck.path_for(1));
  expect_state_of_step(read_training_state(*ck.latest()), 1);
  EXPECT_EQ(files_in(d.path), (std::vector<std::string>{"latest", "step-00000001.h5"}));
}

TEST(Checkpoint, AKilledWritersTemporaryIsIgnoredAndCleanedUp) {
  TempDir d;
  CheckpointDir ck(d.path.string(), 3);
  ck.save(make_state(1));
  copy_truncated(ck.path_for(1), d.path / "step-00000002.h5.tmp.99999", 0.5);
  copy_truncated(d.path / "latest", d.path / "latest.tmp.99999", 0.5);
  EXPECT_EQ(*ck.latest(), ck.path_for(1));
  expect_state_of_step(read_training_state(*ck.latest()), 1);
  EXPECT_EQ(ck.steps(), std::vector<int64_t>{1});
  ck.save(make_state(3));
  EXPECT_EQ(files_in(d.path), (std::vector<std::string>{"latest", "step-00000001.h5", "step-00000003.h5"}));
}

TEST(Checkpoint, TruncatedCorruptOrForeignFilesAreErrorsNamingTheFile) {
  TempDir d;
  const fs::path good = d.path / "good.h5";
  write_training_state(good.string(), make_state(4));
  for (double fraction : {0.0, 0.1, 0.5, 0.9, 0.999}) {
    SCOPED_TRACE(fraction);
    const fs::path cut = d.path / "cut.h5";
    copy_truncated(good, cut, fraction);
    expect_error([&] { read_training_state(cut.string()); }, {"cut.h5"});
  }
  const std::string text = d.write("text.h5", "not an HDF5 file\n").string();
  expect_error([&] { read_training_state(text); }, {"text.h5", "truncated or corrupt"});
  expect_error([&] { read_training_state((d.path / "missing.h5").string()); }, {"missing.h5", "no such"});
  d.write("latest", "step-00000042.h5\n");
  expect_error([&] { CheckpointDir(d.path.string(), 1).latest(); }, {"latest", "step-00000042.h5", "does not exist"});
}

// A writer killed with SIGKILL at arbitrary moments (mostly in the middle of a write, which is most of its time)
// never leaves `latest` pointing at anything but a complete state. Each life is killed 0-21 ms after its next save
// completes, not on a timer from its start, which on a loaded machine could kill every life before its first save.
TEST(Checkpoint, SigkillDuringWritesLeavesLatestLoadable) {
  TempDir d;
  const std::string dir = (d.path / "ck").string();
  std::vector<TrainingState> states;
  for (int64_t step = 1; step <= 150; ++step) states.push_back(make_state(step, 4096));  // 0.5 MB each
  // The text of `latest` (empty while there is none): it changes exactly when a save completes.
  const auto latest_text = [&] {
    std::ifstream f(dir + "/latest");
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  };
  int64_t last_seen = 0;
  for (int delay_ms : {0, 3, 7, 13, 21}) {
    const std::string before = latest_text();
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      CheckpointDir ck(dir, 2);
      for (const TrainingState& s : states)
        if (s.step > last_seen) ck.save(s);
      ::_exit(0);
    }
    const auto start = std::chrono::steady_clock::now();
    bool ended = false;
    while (latest_text() == before && std::chrono::steady_clock::now() - start < std::chrono::seconds(60)) {
      if ((ended = ::waitpid(child, nullptr, WNOHANG) == child)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!ended) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      ::kill(child, SIGKILL);
      ::waitpid(child, nullptr, 0);
    }
    const std::optional<std::string> latest = CheckpointDir(dir, 2).latest();
    ASSERT_TRUE(latest) << "no save completed within 60 s";
    const TrainingState s = read_training_state(*latest);
    expect_state_of_step(s, s.step, 4096);
    EXPECT_GT(s.step, last_seen);
    last_seen = s.step;
    if (ended) break;
  }
}

TEST(Checkpoint, AnExportRemovesFoldersLeftByKilledExportsOfTheSameFolderOnly) {
  SftFixture f;
  const Gemma4 model = Gemma4::random(load_gemma4_config(f.model_config), 7);
  // A pid that is surely gone (a child already reaped) and one that is alive (a child still waiting).
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  const pid_t alive = ::fork();
  if (alive == 0) {
    ::pause();
    ::_exit(0);
  }
  const fs::path out = f.dir.path / "out";
  const auto leftover = [&](const std::string& name) {
    fs::create_directories(out / name);
    std::ofstream(out / name / "model.safetensors") << "half-written";
    return out / name;
  };
  const fs::path stale = leftover("final.tmp." + std::to_string(dead));
  const fs::path stale_old = leftover("final.old." + std::to_string(dead));  // killed between its two renames
  const fs::path busy = leftover("final.tmp." + std::to_string(alive));
  const fs::path other = leftover("best.tmp." + std::to_string(dead));
  const fs::path unlike = leftover("final.tmp.x" + std::to_string(dead));

  export_hf(model, f.tokenizer, (out / "final").string());
  EXPECT_TRUE(fs::exists(out / "final" / "model.safetensors"));
  EXPECT_FALSE(fs::exists(stale)) << "a killed export of final/ is left behind";
  EXPECT_FALSE(fs::exists(stale_old)) << "a killed export's previous final/ is left behind";
  EXPECT_TRUE(fs::exists(busy)) << "another live process may be exporting final/ right now";
  EXPECT_TRUE(fs::exists(other)) << "best/'s leftovers are best/'s next export's business";
  EXPECT_TRUE(fs::exists(unlike));
  ::kill(alive, SIGKILL);
  ::waitpid(alive, nullptr, 0);

  // A trailing slash names the same folder (its temporary lies beside it, not inside).
  leftover("final.tmp." + std::to_string(dead));
  export_hf(model, f.tokenizer, (out / "final").string() + "/");
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(out / "final" / "model.safetensors"));
  EXPECT_FALSE(fs::exists(out / "final" / ("final.tmp." + std::to_string(::getpid()))));
  EXPECT_FALSE(fs::exists(out / ("final.old." + std::to_string(::getpid())))) << "the replaced final/ is removed";
}

TEST(Checkpoint, AFlippedByteInATensorIsRefusedNamingTheFileAndTheTensor) {
  TempDir d;
  const fs::path good = d.path / "good.h5";
  write_training_state(good.string(), make_state(4));
  EXPECT_EQ(read_training_state(good.string()).format_version, 2);
  for (const char* dataset : {"model/embed.weight", "model/norm.weight", "optimizer/embed.weight.step",
                              "extra/permutation"}) {
    SCOPED_TRACE(dataset);
    const auto [offset, size] = data_extent(good, dataset);
    ASSERT_GT(size, 0u);
    std::string bytes = read_bytes(good);
    bytes[offset + size / 2] ^= 0x04;
    const fs::path bad = d.path / "bad.h5";
    write_bytes(bad, bytes);
    expect_error([&] { read_training_state(bad.string()); },
                 {"bad.h5", (std::string("tensor '") + dataset + "' fails its checksum").c_str(), "corrupt"});
  }
}

TEST(Checkpoint, AnAlteredMetaIsRefusedEvenWhenItIsStillValidJson) {
  TempDir d;
  const fs::path good = d.path / "good.h5";
  write_training_state(good.string(), make_state(4));
  const auto [offset, size] = data_extent(good, "meta");
  std::string bytes = read_bytes(good);
  const size_t at = bytes.find("\"step\":4", offset);
  ASSERT_LT(at, offset + size);
  bytes[at + 7] = '5';  // another step, and still JSON
  write_bytes(d.path / "bad.h5", bytes);
  expect_error([&] { read_training_state((d.path / "bad.h5").string()); }, {"bad.h5", "'meta' fails its checksum"});
  // Saying version 1 does not turn the checks off: the checksum is still there, and the bytes changed.
  bytes = read_bytes(good);
  bytes[bytes.find("\"version\":2", offset) + 10] = '1';
  write_bytes(d.path / "v1.h5", bytes);
  expect_error([&] { read_training_state((d.path / "v1.h5").string()); }, {"v1.h5", "'meta' fails its checksum"});
}

// The issue's case: 1,000 flipped bytes anywhere (HDF5's structures included) never read back as a state.
TEST(Checkpoint, AThousandRandomlyFlippedBytesAreRefused) {
  TempDir d;
  const fs::path good = d.path / "good.h5";
  write_training_state(good.string(), make_state(4, 2048));
  const std::string clean = read_bytes(good);
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    std::string bytes = clean;
    for (int k = 0; k < 1000; ++k) bytes[rng() % bytes.size()] ^= static_cast<char>(1 + rng() % 255);
    write_bytes(d.path / "bad.h5", bytes);
    expect_error([&] { read_training_state((d.path / "bad.h5").string()); }, {"bad.h5"});
  }
}

TEST(Checkpoint, AVersion1FileIsReadUnverifiedAndAVersion2OneWithoutChecksumsIsNot) {
  TempDir d;
  const fs::path old = d.path / "old.h5";
  write_training_state(old.string(), make_state(6));
  make_version_1(old);
  const TrainingState s = read_training_state(old.string());
  EXPECT_EQ(s.format_version, 1);
  expect_state_of_step(s, 6);

  // A version-2 meta whose checksum went missing is a damaged file, not an old one.
  const fs::path stripped = d.path / "stripped.h5";
  write_training_state(stripped.string(), make_state(6));
  const hid_t f = H5Fopen(stripped.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  const hid_t m = H5Dopen2(f, "meta", H5P_DEFAULT);
  H5Adelete(m, "crc32c");
  H5Dclose(m);
  H5Fclose(f);
  expect_error([&] { read_training_state(stripped.string()); }, {"stripped.h5", "'meta' has no checksum", "corrupt"});
}

// A dataset header claiming more bytes than the file holds (here 4 TiB, never written) is refused before the
// reader allocates for it: it used to end in std::bad_alloc, or in a real 4 TiB allocation on a large machine.
TEST(Checkpoint, ADatasetLargerThanTheFileIsRefusedBeforeAllocating) {
  TempDir d;
  const fs::path path = d.path / "huge.h5";
  write_training_state(path.string(), make_state(4));
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  const hid_t g = H5Gopen2(f, "model", H5P_DEFAULT);
  const hsize_t dims[2] = {hsize_t{1} << 20, hsize_t{1} << 20};
  const hid_t space = H5Screate_simple(2, dims, nullptr);
  const hid_t ds = H5Dcreate2(g, "huge", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(ds, 0);
  H5Dclose(ds);
  H5Sclose(space);
  H5Gclose(g);
  H5Fclose(f);
  ASSERT_LT(fs::file_size(path), 1u << 20);
  expect_error([&] { read_training_state(path.string()); },
               {"huge.h5", "dataset 'model/huge' claims 4398046511104 bytes but the file has", "corrupt file"});
}
