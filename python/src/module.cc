// corpusflow._core: the native part of the `corpusflow` Python package (docs/python.md).
//   Pipeline  a live pipeline (python/src/live_pipeline.h) iterated from Python: yields Batch
//   Batch     one batch of the last stage; its columns as numpy arrays that share the engine's
//             memory (read-only views whose base is the Batch, which keeps the memory alive)
//   Ragged    an int32-list column whose records have different lengths: values + offsets
//   Error     every engine error (a RuntimeError), with the engine's message
// The engine thread never takes the GIL; the iterator releases it while it waits for a batch and
// checks for signals (Ctrl-C) every 50 ms, so KeyboardInterrupt stops the run.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "engine/batch.h"
#include "engine/error.h"
#include "engine/units.h"
#include "python/src/live_pipeline.h"

namespace py = pybind11;

namespace corpusflow {
namespace {

constexpr std::chrono::milliseconds kSignalCheckInterval{50};

/// A read-only 1-D or 2-D numpy array over `data`, whose base is `owner` (which keeps the
/// memory alive): no copy.
template <typename T>
py::array ReadOnlyView(const T* data, std::vector<py::ssize_t> shape, py::handle owner) {
  std::vector<py::ssize_t> strides(shape.size(), static_cast<py::ssize_t>(sizeof(T)));
  if (shape.size() == 2) strides[0] = shape[1] * static_cast<py::ssize_t>(sizeof(T));
  // numpy refuses a null data pointer with a base; an empty column may have none.
  static const T kEmpty{};
  if (data == nullptr) data = &kEmpty;
  py::array view(py::dtype::of<T>(), std::move(shape), std::move(strides), data, owner);
  py::detail::array_proxy(view.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return view;
}

/// The record offsets of a column as an int64 view (they are uint64, far below 2^63).
py::array OffsetsView(const std::vector<uint64_t>& offsets, size_t first, size_t count,
                      py::handle owner) {
  return ReadOnlyView(reinterpret_cast<const int64_t*>(offsets.data() + first),
                      {static_cast<py::ssize_t>(count)}, owner);
}

/// An int32-list column of records of different lengths: record i is
/// values[offsets[i]:offsets[i+1]].
class Ragged {
 public:
  Ragged(py::array values, py::array offsets) : values_(std::move(values)), offsets_(offsets) {
    starts_ = static_cast<const int64_t*>(offsets_.data());
    size_ = offsets_.size() - 1;
  }
  size_t size() const { return size_; }
  py::object Get(py::ssize_t i) const {
    if (i < 0) i += static_cast<py::ssize_t>(size_);
    if (i < 0 || static_cast<size_t>(i) >= size_)
      throw py::index_error("Ragged index out of range");
    return values_[py::slice(starts_[i], starts_[i + 1], 1)];
  }
  /// The lengths of the records, as int64.
  py::array Lengths() const {
    py::array_t<int64_t> lengths(static_cast<py::ssize_t>(size_));
    auto out = lengths.mutable_unchecked<1>();
    for (size_t i = 0; i < size_; ++i) out(i) = starts_[i + 1] - starts_[i];
    return lengths;
  }
  const py::array& values() const { return values_; }
  const py::array& offsets() const { return offsets_; }

 private:
  py::array values_;
  py::array offsets_;
  const int64_t* starts_;
  size_t size_;
};

py::str DecodeText(std::string_view text) {
  // Lossless for any bytes: invalid UTF-8 (which `read` refuses anyway) becomes surrogates.
  PyObject* s =
      PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "surrogateescape");
  if (s == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(s);
}

/// The Python value of one column of `batch` (see docs/python.md). `owner` is the Python Batch.
py::object ColumnValue(const Column& column, py::handle owner) {
  return std::visit(
      [&](const auto& data) -> py::object {
        using T = std::decay_t<decltype(data)>;
        if constexpr (std::is_same_v<T, StringColumn>) {
          py::list out(data.size());
          for (size_t i = 0; i < data.size(); ++i) out[i] = DecodeText(data[i]);
          return out;
        } else if constexpr (std::is_same_v<T, StringListColumn>) {
          py::list out(data.size());
          for (size_t r = 0; r < data.size(); ++r) {
            py::list items(data.ItemCount(r));
            for (size_t j = 0; j < data.ItemCount(r); ++j) items[j] = DecodeText(data.Item(r, j));
            out[r] = items;
          }
          return out;
        } else if constexpr (std::is_same_v<T, Int32ListColumn>) {
          const size_t n = data.size();
          const auto& offsets = data.offsets();
          const uint64_t width = n == 0 ? 0 : offsets[1] - offsets[0];
          bool uniform = true;
          for (size_t i = 1; i < n && uniform; ++i) uniform = offsets[i + 1] - offsets[i] == width;
          if (uniform) {
            // Records are consecutive in values from offsets[0] (0 in every column built today).
            return ReadOnlyView(data.values().data() + offsets[0],
                                {static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(width)},
                                owner);
          }
          py::array values = ReadOnlyView(data.values().data(),
                                          {static_cast<py::ssize_t>(data.values().size())}, owner);
          return py::cast(Ragged(values, OffsetsView(offsets, 0, n + 1, owner)));
        } else {
          static_assert(std::is_same_v<T, Int32ListListColumn>);
          // One Ragged per record: its items (the id lists of its sentences), over the column's
          // values and a slice of the item offsets.
          py::array values = ReadOnlyView(data.values().data(),
                                          {static_cast<py::ssize_t>(data.values().size())}, owner);
          py::list out(data.size());
          for (size_t r = 0; r < data.size(); ++r) {
            const uint64_t first = data.record_offsets()[r];
            out[r] = py::cast(Ragged(
                values, OffsetsView(data.item_offsets(), first, data.ItemCount(r) + 1, owner)));
          }
          return out;
        }
      },
      column.data);
}

const Column& FindColumn(const Batch& batch, const std::string& name) {
  const Column* column = batch.Find(name);
  if (column == nullptr) {
    std::string known;
    for (const Column& c : batch.columns()) known += (known.empty() ? "" : ", ") + c.field.name;
    throw py::key_error("Batch has no field '" + name + "' (fields: " + known + ")");
  }
  return *column;
}

uint64_t SizeArgument(const py::object& value, const char* what) {
  if (value.is_none()) return 0;
  if (py::isinstance<py::str>(value)) return ParseByteSize(value.cast<std::string>(), what);
  const auto n = value.cast<int64_t>();
  if (n <= 0) throw InvalidArgument(std::string("Pipeline: ") + what + " must be positive");
  return static_cast<uint64_t>(n);
}

/// The Python object of a live pipeline.
class PyPipeline {
 public:
  PyPipeline(const std::string& spec, const py::object& threads, const py::object& memory,
             const py::object& tmp_dir, const py::object& batch_bytes) {
    LivePipelineOptions options;
    if (!threads.is_none()) {
      const auto n = threads.cast<int64_t>();
      if (n <= 0) throw InvalidArgument("Pipeline: threads must be positive");
      options.threads = static_cast<int>(n);
    }
    options.memory_bytes = SizeArgument(memory, "memory");
    options.batch_bytes = SizeArgument(batch_bytes, "batch_bytes");
    if (!tmp_dir.is_none()) options.tmp_dir = py::str(tmp_dir).cast<std::string>();
    live_ = std::make_unique<LivePipeline>(spec, options);
  }
  /// Stops the run without releasing the GIL (the engine thread never takes it), which is safe
  /// during interpreter shutdown too.
  ~PyPipeline() { live_->Close(); }

  std::shared_ptr<Batch> Next() {
    while (true) {
      LivePipeline::Result result;
      {
        py::gil_scoped_release release;
        result = live_->Next(kSignalCheckInterval);
      }
      if (result.batch) return result.batch;
      if (result.end) throw py::stop_iteration();
      if (PyErr_CheckSignals() != 0) {
        // KeyboardInterrupt (or a handler's exception): stop the run, then let it propagate.
        py::error_already_set pending;
        Close();
        throw pending;
      }
    }
  }

  void Close() {
    py::gil_scoped_release release;
    live_->Close();
  }

  py::object Stats() const {
    if (!live_->finished()) {
      throw InvalidArgument(
          "Pipeline.stats: the run has not ended (iterate to the end, or close() it first)");
    }
    return py::module_::import("json").attr("loads")(live_->StatsJson());
  }

  std::string PlanText() const { return live_->PlanText(); }

 private:
  std::unique_ptr<LivePipeline> live_;
};

}  // namespace
}  // namespace corpusflow

PYBIND11_MODULE(_core, m) {
  using namespace corpusflow;
  m.doc() = "corpusflow's engine: live pipelines into Python (docs/python.md)";
  m.attr("__version__") = CORPUSFLOW_VERSION;

  static py::exception<Error> error(m, "Error", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyErr_SetString(error.ptr(), e.what());
    }
  });

  py::class_<Ragged>(m, "Ragged",
                     "An int32-list column whose records differ in length: record i is "
                     "values[offsets[i]:offsets[i+1]] (views of the batch's memory).")
      .def_property_readonly("values", &Ragged::values, "All ids, 1-D int32 (read-only view)")
      .def_property_readonly("offsets", &Ragged::offsets,
                             "Record boundaries, 1-D int64 of len(self) + 1 (read-only view)")
      .def("lengths", &Ragged::Lengths, "The length of each record (a new int64 array)")
      .def("__len__", &Ragged::size)
      .def("__getitem__", &Ragged::Get, "Record i as a 1-D int32 view");

  py::class_<Batch, std::shared_ptr<Batch>>(
      m, "Batch",
      "One batch of the pipeline's last stage. batch[name] gives a column: int32-list fields as "
      "numpy views of the engine's memory (2-D when every record has the same length, else a "
      "Ragged), text fields as lists of str (copies). Views keep the batch alive.")
      .def("__len__", &Batch::num_records)
      .def_property_readonly("fields",
                             [](const Batch& b) {
                               std::vector<std::string> names;
                               for (const Column& c : b.columns()) names.push_back(c.field.name);
                               return names;
                             })
      .def_property_readonly(
          "types",
          [](const Batch& b) {
            py::dict types;
            for (const Column& c : b.columns()) {
              types[py::str(c.field.name)] = std::string(FieldTypeName(c.field.type));
            }
            return types;
          },
          "{field: 'string' | 'string-list' | 'int32-list' | ...}")
      .def_property_readonly("sequence", &Batch::sequence, "The batch's order in the stream")
      .def("__getitem__",
           [](py::object self, const std::string& name) {
             const Batch& b = self.cast<const Batch&>();
             return ColumnValue(FindColumn(b, name), self);
           })
      .def("__contains__",
           [](const Batch& b, const std::string& name) { return b.Find(name) != nullptr; })
      .def("to_dict", [](py::object self) {
        const Batch& b = self.cast<const Batch&>();
        py::dict out;
        for (const Column& c : b.columns()) out[py::str(c.field.name)] = ColumnValue(c, self);
        return out;
      });

  py::class_<PyPipeline>(
      m, "Pipeline",
      "Pipeline(spec, *, threads=None, memory=None, tmp_dir=None, batch_bytes=None): the "
      "pipeline text of `corpusflow run` without its final sink, run on the engine's threads; "
      "iterating yields the Batch objects of its last stage.")
      .def(py::init<const std::string&, const py::object&, const py::object&, const py::object&,
                    const py::object&>(),
           py::arg("spec"), py::kw_only(), py::arg("threads") = py::none(),
           py::arg("memory") = py::none(), py::arg("tmp_dir") = py::none(),
           py::arg("batch_bytes") = py::none())
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", &PyPipeline::Next)
      .def("close", &PyPipeline::Close,
           "Stop the run if it still runs and wait for its threads; removes its temp files")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__",
           [](PyPipeline& p, const py::object&, const py::object&, const py::object&) {
             p.Close();
             return false;
           })
      .def("stats", &PyPipeline::Stats,
           "The run's report (the --stats-json document) as a dict, once the run ended")
      .def("plan", &PyPipeline::PlanText, "The plan printout, as `corpusflow run --dry-run`");
}
