// Work a process does once, ahead of its first call, on a thread of its own:
// the first DTLS element of a process makes its certificate (an RSA key,
// 150-570 ms of CPU here, up to a second on a busy core) and webrtcbin's
// plugins load on first use. Started by the first Call, so call setup and
// the main loop never wait for it.
//
// A process must call awaitWarmUp() before it returns from main(): exit()
// runs OpenSSL's cleanup, and a key generation still running on the warm-up
// thread then crashes inside libcrypto. By then the main loop has stopped,
// so that wait stalls nothing the user sees.
#pragma once

namespace palaver::engine {

void startWarmUp();
void awaitWarmUp();

} // namespace palaver::engine
