#pragma once
// BrokerCore's internals (not installed): the intrusive lists and the state structures they link.
#include <pirates/majordomo/broker_core.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pirates::majordomo {

namespace detail {
template <typename T>
struct Hook {
    Hook* prev = nullptr;
    Hook* next = nullptr;
    T* owner = nullptr;
    bool linked() const { return prev != nullptr; }
};

// Intrusive doubly linked list through a Hook member of T: O(1) push_back, erase, front; no allocation.
template <typename T, Hook<T> T::*H>
class List {
  public:
    List() { head_.prev = head_.next = &head_; }
    List(const List&) = delete;
    List& operator=(const List&) = delete;
    bool empty() const { return head_.next == &head_; }
    std::size_t size() const { return size_; }
    T* front() const { return empty() ? nullptr : head_.next->owner; }
    T* back() const { return empty() ? nullptr : head_.prev->owner; }
    void push_front(T& t) {
        Hook<T>& h = t.*H;
        h.owner = &t;
        h.prev = &head_;
        h.next = head_.next;
        head_.next->prev = &h;
        head_.next = &h;
        ++size_;
    }
    void push_back(T& t) {
        Hook<T>& h = t.*H;
        h.owner = &t;
        h.prev = head_.prev;
        h.next = &head_;
        head_.prev->next = &h;
        head_.prev = &h;
        ++size_;
    }
    void erase(T& t) {
        Hook<T>& h = t.*H;
        if (!h.linked()) return;
        h.prev->next = h.next;
        h.next->prev = h.prev;
        h.prev = h.next = nullptr;
        --size_;
    }
    bool contains(const T& t) const { return (t.*H).linked(); }
    template <typename F>
    void for_each(F&& f) const {
        for (Hook<T>* h = head_.next; h != &head_; h = h->next) f(*h->owner);
    }

  private:
    Hook<T> head_;
    std::size_t size_ = 0;
};

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
}  // namespace detail

}  // namespace pirates::majordomo
