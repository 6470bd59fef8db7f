// Work the engine runs on threads of its own, so that no main loop waits
// for it:
// - the warm-up, once per process ahead of its first call: the first DTLS
//   element of a process makes its certificate (an RSA key, 150-570 ms of
//   CPU here, up to a second on a busy core) and webrtcbin's plugins load
//   on first use;
// - blocking probes (opening a V4L2 node, starting a device monitor).
//
// A process must call awaitBackgroundWork() before it returns from main():
// exit() runs OpenSSL's and GStreamer's cleanup, and a key generation or a
// device probe still running then crashes. By then the main loop has
// stopped, so that wait stalls nothing the user sees.
#pragma once

#include <functional>

namespace palaver::engine {

void startWarmUp();
// Runs fn on a thread of its own; fn hands its result back with postTo.
void runInBackground(std::function<void()> fn);
// Joins every thread started above (none may be started after).
void awaitBackgroundWork();

} // namespace palaver::engine
