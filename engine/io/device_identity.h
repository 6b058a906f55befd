// The device and filesystem that hold a path: the "major:minor" of its st_dev (the key under
// which `bench disk` caches a device's figures, engine/io/disk_figures.h) and the mount source,
// filesystem type and mount point read from /proc/self/mountinfo, so that reports can say which
// disk they measured.
//
// Thread-safety: IdentifyDevice reads only the file system and /proc; safe to call concurrently.
#pragma once

#include <filesystem>
#include <string>

namespace corpusflow {

/// The device and filesystem that hold a path (from stat and /proc/self/mountinfo).
struct DeviceIdentity {
  /// "major:minor" of st_dev; the cache key.
  std::string key;
  /// The mount source, e.g. "/dev/vda" ("" when unknown).
  std::string source;
  /// The filesystem type, e.g. "ext4" ("" when unknown).
  std::string filesystem;
  /// The mount point that holds the path.
  std::string mount_point;
};

/// Identify the device of `path` (an existing file or directory). Throws IoError.
DeviceIdentity IdentifyDevice(const std::filesystem::path& path);

}  // namespace corpusflow
