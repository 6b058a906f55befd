// IdentifyDevice: stat for the device key, /proc/self/mountinfo for what is mounted there.
#include "engine/io/device_identity.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/error.h"

namespace corpusflow {

namespace fs = std::filesystem;

DeviceIdentity IdentifyDevice(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) ThrowIoError("cannot stat", path.string(), errno);
  DeviceIdentity id;
  id.key = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  std::error_code ec;
  const std::string canonical = fs::weakly_canonical(fs::absolute(path), ec).string();
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  size_t best_by_device = 0;
  size_t best_any = 0;
  DeviceIdentity any;
  auto unescape = [](const std::string& s) {
    // Mount points escape space, tab, newline and backslash as \ooo.
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
        out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        out += s[i];
      }
    }
    return out;
  };
  auto is_prefix = [&](const std::string& mount) {
    if (mount == "/") return true;
    return canonical.compare(0, mount.size(), mount) == 0 &&
           (canonical.size() == mount.size() || canonical[mount.size()] == '/');
  };
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    std::string word;
    while (fields >> word) f.push_back(word);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || dash + 2 >= f.end()) continue;
    const std::string mount = unescape(f[4]);
    if (!is_prefix(mount)) continue;
    const std::string fstype = *(dash + 1);
    const std::string source = *(dash + 2);
    // Longest matching mount point (+1 so "/" beats "nothing found").
    if (f[2] == id.key && mount.size() + 1 > best_by_device) {
      best_by_device = mount.size() + 1;
      id.source = source;
      id.filesystem = fstype;
      id.mount_point = mount;
    }
    if (mount.size() + 1 > best_any) {
      best_any = mount.size() + 1;
      any.source = source;
      any.filesystem = fstype;
      any.mount_point = mount;
    }
  }
  if (best_by_device == 0 && best_any > 0) {
    id.source = any.source;
    id.filesystem = any.filesystem;
    id.mount_point = any.mount_point;
  }
  return id;
}

}  // namespace corpusflow
