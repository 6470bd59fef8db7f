// src/common/: the RAII Source, postTo with a weak owner, the element
// helper's sentences and the GEnum nicks.
#include "enum_nick.h"
#include "gst_element.h"
#include "post.h"
#include "source.h"

#include <glib.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>

using namespace palaver;
using namespace std::chrono_literals;

namespace {

// Iterates `context` until `done` or 5 s (a failure, not a hang).
template<typename Pred>
bool iterateUntil(GMainContext* context, Pred done)
{
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while (!done() && g_get_monotonic_time() < deadline)
        g_main_context_iteration(context, FALSE), g_usleep(1000);
    return done();
}

void iterateFor(GMainContext* context, int ms)
{
    gint64 until = g_get_monotonic_time() + ms * 1000;
    while (g_get_monotonic_time() < until)
        g_main_context_iteration(context, FALSE), g_usleep(1000);
}

struct Context {
    GRef<GMainContext> context = adopt(g_main_context_new());
    Context() { g_main_context_push_thread_default(context.get()); }
    ~Context() { g_main_context_pop_thread_default(context.get()); }
    GMainContext* get() const { return context.get(); }
};

void testOnceRunsOnce()
{
    Context c;
    int runs = 0;
    Source s = Source::once(c.get(), 5ms, [&] { ++runs; });
    g_assert_true(s.active());
    g_assert_true(iterateUntil(c.get(), [&] { return runs > 0; }));
    iterateFor(c.get(), 30);
    g_assert_cmpint(runs, ==, 1);
    g_assert_false(s.active());
}

void testDestroyedWithOwner()
{
    Context c;
    int runs = 0;
    {
        Source s = Source::once(c.get(), 5ms, [&] { ++runs; });
        Source t = Source::every(c.get(), 2ms, [&] { ++runs; });
    }
    iterateFor(c.get(), 30);
    g_assert_cmpint(runs, ==, 0);
    Source u = Source::idle(c.get(), [&] { ++runs; });
    u.cancel();
    Source v = Source::idle(c.get(), [&] { runs += 10; });
    v = Source::idle(c.get(), [&] { runs += 100; }); // replaces (cancels) the first
    iterateFor(c.get(), 20);
    g_assert_cmpint(runs, ==, 100);
}

// The owner of a Source may be destroyed from inside its callback.
void testOwnerDestroyedInCallback()
{
    Context c;
    struct Owner {
        Source timer;
        std::string text = "alive";
    };
    auto owner = std::make_unique<Owner>();
    bool ran = false;
    owner->timer = Source::every(c.get(), 2ms, [&] {
        ran = owner->text == "alive";
        owner.reset();
    });
    g_assert_true(iterateUntil(c.get(), [&] { return !owner; }));
    iterateFor(c.get(), 20);
    g_assert_true(ran);
}

void testEveryRepeats()
{
    Context c;
    int runs = 0;
    Source s = Source::every(c.get(), 2ms, [&] { ++runs; });
    g_assert_true(iterateUntil(c.get(), [&] { return runs >= 3; }));
    g_assert_true(s.active());
}

void testAtFollowsTheClock()
{
    Context c;
    int runs = 0;
    gint64 start = g_get_monotonic_time();
    gint64 due = start + 3000;
    Source s = Source::at(c.get(), due, [&]() -> gint64 {
        ++runs;
        g_assert_cmpint(g_get_monotonic_time(), >=, due);
        due += 3000;
        return runs < 4 ? due : -1;
    });
    g_assert_true(iterateUntil(c.get(), [&] { return runs == 4; }));
    iterateFor(c.get(), 20);
    g_assert_cmpint(runs, ==, 4);
    g_assert_false(s.active());
}

void testPostIsDeferredAndWeak()
{
    Context c;
    struct Target : std::enable_shared_from_this<Target> {
        int hits = 0;
    };
    auto target = std::make_shared<Target>();
    postTo(c.get(), std::weak_ptr<Target>(target), [](Target& t) { ++t.hits; });
    g_assert_cmpint(target->hits, ==, 0); // never inside the caller
    g_assert_true(iterateUntil(c.get(), [&] { return target->hits == 1; }));

    // A dead owner's work is dropped.
    int ran = 0;
    {
        auto gone = std::make_shared<Target>();
        postTo(c.get(), std::weak_ptr<Target>(gone), [&ran](Target&) { ++ran; });
    }
    iterateFor(c.get(), 20);
    g_assert_cmpint(ran, ==, 0);

    // From another thread, to the context's owner thread.
    std::thread([&] { postTo(c.get(), std::weak_ptr<Target>(target), [](Target& t) { t.hits += 10; }); }).join();
    g_assert_true(iterateUntil(c.get(), [&] { return target->hits == 11; }));
}

void testWeakAnchor()
{
    Context c;
    struct Plain {
        int hits = 0;
        WeakAnchor<Plain> anchor { this };
    };
    auto plain = std::make_unique<Plain>();
    postTo(c.get(), plain->anchor.weak(), [](Plain& p) { ++p.hits; });
    g_assert_true(iterateUntil(c.get(), [&] { return plain->hits == 1; }));
    int ran = 0;
    postTo(c.get(), plain->anchor.weak(), [&ran](Plain&) { ++ran; });
    plain.reset();
    iterateFor(c.get(), 20);
    g_assert_cmpint(ran, ==, 0);
}

void testMissingElementSentence()
{
    std::string error;
    GRef<GstElement> none = makeElement("palaver-no-such-element", nullptr, error);
    g_assert_null(none.get());
    g_assert_cmpstr(error.c_str(), ==,
        "the GStreamer element 'palaver-no-such-element' is missing: install the GStreamer plugin that provides it");
    g_assert_true(missingElementSentence("vp8enc") == "the GStreamer element 'vp8enc' is missing: install gstreamer1.0-plugins-good");
    g_assert_true(missingElementSentence("x264enc") == "the GStreamer element 'x264enc' is missing: install gstreamer1.0-plugins-ugly");

    GRef<GstElement> queue = makeElement("queue", "q", error);
    g_assert_nonnull(queue.get());
    g_assert_false(g_object_is_floating(queue.get()));

    GRef<GstElement> bin = parseBin("videotestsrc ! palavernosuchdec ! fakesink", "decoder", error);
    g_assert_null(bin.get());
    g_assert_true(error.find("'palavernosuchdec' is missing") != std::string::npos);
    bin = parseBin("videotestsrc ! ! ", "video source", error);
    g_assert_null(bin.get());
    g_assert_true(error.rfind("bad video source pipeline description", 0) == 0);
    bin = parseBin("queue ! identity", "filter", error);
    g_assert_nonnull(bin.get());
}

void testEnumNick()
{
    g_assert_cmpstr(enumNick(GST_TYPE_STATE, GST_STATE_PLAYING), ==, "playing");
    g_assert_cmpstr(enumNick(GST_TYPE_STATE, 1234), ==, "unknown");
}

} // namespace

int main(int argc, char** argv)
{
    g_test_init(&argc, &argv, nullptr);
    gst_init(nullptr, nullptr);
    g_test_add_func("/common/source/once", testOnceRunsOnce);
    g_test_add_func("/common/source/destroyed-with-owner", testDestroyedWithOwner);
    g_test_add_func("/common/source/owner-destroyed-in-callback", testOwnerDestroyedInCallback);
    g_test_add_func("/common/source/every", testEveryRepeats);
    g_test_add_func("/common/source/at", testAtFollowsTheClock);
    g_test_add_func("/common/post/deferred-and-weak", testPostIsDeferredAndWeak);
    g_test_add_func("/common/post/weak-anchor", testWeakAnchor);
    g_test_add_func("/common/gst-element/missing", testMissingElementSentence);
    g_test_add_func("/common/enum-nick", testEnumNick);
    return g_test_run();
}
