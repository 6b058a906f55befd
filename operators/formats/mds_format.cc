#include "operators/formats/mds_format.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include "engine/coding.h"
#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/json_writer.h"

namespace corpusflow {
namespace {

/// Write the members of a shard's configuration (sorted as json.dumps(sort_keys=True) sorts
/// them) into an open object, before and after the members an index entry adds.
void ConfigMembers(JsonWriter& json, const std::vector<std::string>& columns) {
  json.Key("column_encodings");
  json.BeginArray();
  for (size_t i = 0; i < columns.size(); ++i) json.String(kMdsInt32Encoding);
  json.EndArray();
  json.Key("column_names");
  json.BeginArray();
  for (const std::string& c : columns) json.String(c);
  json.EndArray();
  json.Key("column_sizes");
  json.BeginArray();
  for (size_t i = 0; i < columns.size(); ++i) json.Null();
  json.EndArray();
  json.Key("compression");
  json.Null();
  json.Key("format");
  json.String("mds");
  json.Key("hashes");
  json.BeginArray();
  json.EndArray();
}

/// The shape dtype code of MDS's NDArray encoding for a dimension `n`.
int ShapeCode(uint64_t n) {
  if (n < (uint64_t{1} << 8)) return 0;
  if (n < (uint64_t{1} << 16)) return 1;
  if (n < (uint64_t{1} << 32)) return 2;
  return 3;
}

/// Bytes of one element of an MDS ndarray dtype; 0 for one this reader does not take.
int DtypeSize(const std::string& dtype) {
  if (dtype == "uint8" || dtype == "int8") return 1;
  if (dtype == "uint16" || dtype == "int16") return 2;
  if (dtype == "uint32" || dtype == "int32") return 4;
  if (dtype == "uint64" || dtype == "int64") return 8;
  return 0;
}

int64_t DecodeElement(const std::string& dtype, const char* p) {
  if (dtype == "uint8") return static_cast<uint8_t>(*p);
  if (dtype == "int8") return static_cast<int8_t>(*p);
  if (dtype == "uint16") return DecodeFixed<uint16_t>(p);
  if (dtype == "int16") return DecodeFixed<int16_t>(p);
  if (dtype == "uint32") return DecodeFixed<uint32_t>(p);
  if (dtype == "int32") return DecodeFixed<int32_t>(p);
  if (dtype == "uint64") return static_cast<int64_t>(DecodeFixed<uint64_t>(p));
  return DecodeFixed<int64_t>(p);
}

}  // namespace

std::string MdsShardName(uint64_t shard) {
  char name[32];
  std::snprintf(name, sizeof name, "shard.%05llu.mds", static_cast<unsigned long long>(shard));
  return name;
}

std::string MdsConfigJson(const std::vector<std::string>& columns, uint64_t size_limit) {
  std::string out;
  JsonWriter json(&out, JsonWriter::Style::kSpaced);
  json.BeginObject();
  ConfigMembers(json, columns);
  json.Key("size_limit");
  json.Uint(size_limit);
  json.Key("version");
  json.Int(2);
  json.EndObject();
  return out;
}

std::string MdsShardEntryJson(const std::vector<std::string>& columns, uint64_t size_limit,
                              const std::string& basename, uint64_t bytes, uint64_t samples) {
  std::string out;
  JsonWriter json(&out, JsonWriter::Style::kSpaced);
  json.BeginObject();
  ConfigMembers(json, columns);
  json.Key("raw_data");
  json.BeginObject();
  json.Key("basename");
  json.String(basename);
  json.Key("bytes");
  json.Uint(bytes);
  json.Key("hashes");
  json.BeginObject();
  json.EndObject();
  json.EndObject();
  json.Key("samples");
  json.Uint(samples);
  json.Key("size_limit");
  json.Uint(size_limit);
  json.Key("version");
  json.Int(2);
  json.Key("zip_data");
  json.Null();
  json.EndObject();
  return out;
}

std::string MdsIndexJson(const std::vector<std::string>& entries) {
  std::string out = "{\"shards\": [";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out += ", ";
    out += entries[i];
  }
  return out + "], \"version\": 2}";
}

void AppendMdsInt32Array(std::span<const int32_t> values, std::string* out) {
  const uint64_t n = values.size();
  const int code = ShapeCode(n);
  out->push_back(static_cast<char>((1 << 2) | code));
  switch (code) {
    case 0:
      out->push_back(static_cast<char>(n));
      break;
    case 1:
      out->push_back(static_cast<char>(n & 0xff));
      out->push_back(static_cast<char>(n >> 8));
      break;
    case 2:
      PutFixed32(out, static_cast<uint32_t>(n));
      break;
    default:
      PutFixed64(out, n);
  }
  const size_t start = out->size();
  out->resize(start + 4 * n);
  EncodeFixed32Array(out->data() + start, values.data(), n);
}

uint64_t MdsInt32ArraySize(size_t n) {
  return 1 + (uint64_t{1} << ShapeCode(n)) + 4 * static_cast<uint64_t>(n);
}

MdsReader::MdsReader(const std::string& name) {
  std::filesystem::path path(name);
  if (path.filename() == "index.json") {
    folder_ = path.parent_path().string();
  } else {
    folder_ = name;
    path /= "index.json";
  }
  const std::string index_path = path.string();
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.load(index_path).get(root) != simdjson::SUCCESS) {
    File::Open(index_path, O_RDONLY);  // names a missing or unreadable file
    throw CorruptionError(index_path + ": not a JSON document");
  }
  const auto bad = [&](const std::string& what) {
    throw CorruptionError(index_path + ": " + what);
  };
  int64_t version = 0;
  if (root["version"].get_int64().get(version) != simdjson::SUCCESS || version != 2) {
    bad("\"version\" must be 2");
  }
  simdjson::dom::array shards;
  if (root["shards"].get_array().get(shards) != simdjson::SUCCESS) bad("no \"shards\" array");
  size_t s = 0;
  for (simdjson::dom::element shard : shards) {
    const std::string where = "shard " + std::to_string(s);
    std::string_view format;
    if (shard["format"].get_string().get(format) != simdjson::SUCCESS || format != "mds") {
      bad(where + ": \"format\" is not \"mds\"");
    }
    simdjson::dom::element zip;
    if (shard["zip_data"].get(zip) == simdjson::SUCCESS && !zip.is_null()) {
      bad(where + ": compressed shards (zip_data) are not read; decompress them first");
    }
    std::vector<std::string> names, encodings;
    simdjson::dom::array array;
    if (shard["column_names"].get_array().get(array) != simdjson::SUCCESS) {
      bad(where + ": no column_names");
    }
    for (simdjson::dom::element e : array) {
      std::string_view v;
      if (e.get_string().get(v) != simdjson::SUCCESS) bad(where + ": a column name not a string");
      names.emplace_back(v);
    }
    if (shard["column_encodings"].get_array().get(array) != simdjson::SUCCESS) {
      bad(where + ": no column_encodings");
    }
    for (simdjson::dom::element e : array) {
      std::string_view v;
      if (e.get_string().get(v) != simdjson::SUCCESS) bad(where + ": an encoding not a string");
      const std::string encoding(v);
      if (encoding != "int" &&
          (!encoding.starts_with("ndarray:") || DtypeSize(encoding.substr(8)) == 0)) {
        bad(where + ": column encoding '" + encoding +
            "' is not read (ndarray of an integer dtype without a fixed shape, or int)");
      }
      encodings.push_back(encoding);
    }
    if (names.size() != encodings.size() || names.empty()) {
      bad(where + ": column_names and column_encodings differ in length");
    }
    if (s == 0) {
      columns_ = names;
      encodings_ = encodings;
    } else if (names != columns_ || encodings != encodings_) {
      bad(where + ": columns differ from shard 0's");
    }
    Shard entry;
    std::string_view basename;
    int64_t bytes = 0, samples = 0, limit = 0;
    if (shard["raw_data"]["basename"].get_string().get(basename) != simdjson::SUCCESS ||
        shard["raw_data"]["bytes"].get_int64().get(bytes) != simdjson::SUCCESS ||
        shard["samples"].get_int64().get(samples) != simdjson::SUCCESS || bytes < 0 ||
        samples < 0) {
      bad(where + ": raw_data.basename, raw_data.bytes and samples are required");
    }
    if (shard["size_limit"].get_int64().get(limit) == simdjson::SUCCESS && s == 0) {
      size_limit_ = static_cast<uint64_t>(limit);
    }
    entry.basename = std::string(basename);
    entry.bytes = static_cast<uint64_t>(bytes);
    entry.samples = static_cast<uint64_t>(samples);
    samples_ += entry.samples;
    shards_.push_back(std::move(entry));
    ++s;
  }
}

uint64_t MdsReader::shard_bytes() const {
  uint64_t total = 0;
  for (const Shard& s : shards_) total += s.bytes;
  return total;
}

void MdsReader::ForEachSample(
    const std::function<void(uint64_t, const std::vector<std::vector<int64_t>>&)>& fn) const {
  uint64_t sample = 0;
  std::vector<std::vector<int64_t>> values(columns_.size());
  std::string bytes;
  for (const Shard& shard : shards_) {
    const std::string path = (std::filesystem::path(folder_) / shard.basename).string();
    File file = File::Open(path, O_RDONLY);
    const uint64_t size = file.Size();
    if (size != shard.bytes) {
      throw CorruptionError(path + ": " + std::to_string(size) + " bytes, index.json says " +
                            std::to_string(shard.bytes));
    }
    const uint64_t header = 4 * (shard.samples + 2);
    if (size < header) throw CorruptionError(path + ": shorter than its header");
    std::string head(header, '\0');
    file.PRead(0, head.data(), header);
    if (DecodeFixed32(head.data()) != shard.samples) {
      throw CorruptionError(path + ": holds " + std::to_string(DecodeFixed32(head.data())) +
                            " samples, index.json says " + std::to_string(shard.samples));
    }
    for (uint64_t i = 0; i < shard.samples; ++i, ++sample) {
      const uint64_t begin = DecodeFixed32(head.data() + 4 * (i + 1));
      const uint64_t end = DecodeFixed32(head.data() + 4 * (i + 2));
      const std::string where = path + ": sample " + std::to_string(i);
      if (begin < header || end < begin || end > size) {
        throw CorruptionError(where + ": offsets " + std::to_string(begin) + ".." +
                              std::to_string(end) + " outside the shard");
      }
      bytes.resize(end - begin);
      file.PRead(begin, bytes.data(), bytes.size());
      const size_t columns = columns_.size();
      if (bytes.size() < 4 * columns) throw CorruptionError(where + ": shorter than its sizes");
      uint64_t at = 4 * columns;
      for (size_t c = 0; c < columns; ++c) {
        const uint64_t n = DecodeFixed32(bytes.data() + 4 * c);
        if (at + n > bytes.size()) throw CorruptionError(where + ": column sizes past its end");
        const char* p = bytes.data() + at;
        auto& out = values[c];
        out.clear();
        if (encodings_[c] == "int") {
          if (n != 8)
            throw CorruptionError(where + ": int column of " + std::to_string(n) + " bytes");
          out.push_back(DecodeFixed<int64_t>(p));
        } else {
          const std::string dtype = encodings_[c].substr(8);
          const size_t element = static_cast<size_t>(DtypeSize(dtype));
          if (n < 1) throw CorruptionError(where + ": empty ndarray column");
          const int ndim = static_cast<uint8_t>(p[0]) >> 2;
          const int code = static_cast<uint8_t>(p[0]) & 3;
          const uint64_t shape_bytes = static_cast<uint64_t>(ndim) << code;
          if (ndim != 1 || 1 + shape_bytes > n) {
            throw CorruptionError(where + ": column '" + columns_[c] +
                                  "' is not a one-dimensional array");
          }
          uint64_t length = 0;
          const char* shape = p + 1;
          switch (code) {
            case 0:
              length = static_cast<uint8_t>(shape[0]);
              break;
            case 1:
              length = DecodeFixed<uint16_t>(shape);
              break;
            case 2:
              length = DecodeFixed32(shape);
              break;
            default:
              length = DecodeFixed64(shape);
          }
          if (1 + shape_bytes + length * element != n) {
            throw CorruptionError(where + ": column '" + columns_[c] + "' holds " +
                                  std::to_string(n) + " bytes, its shape says " +
                                  std::to_string(length) + " values");
          }
          const char* data = p + 1 + shape_bytes;
          out.resize(length);
          for (uint64_t j = 0; j < length; ++j) out[j] = DecodeElement(dtype, data + j * element);
        }
        at += n;
      }
      if (at != bytes.size()) throw CorruptionError(where + ": bytes after its last column");
      fn(sample, values);
    }
  }
}

}  // namespace corpusflow
