// An intrusive doubly-linked list of slabs through Slab::prev/next. Not synchronised: a thread
// heap's lists are touched by their owner only, a node's under the node's lock.
#pragma once

#include <cstddef>

#include "slab/slab.h"

namespace hm::slab {

struct SlabList {
  Slab* head = nullptr;
  Slab* tail = nullptr;
  std::size_t length = 0;

  void push(Slab* s) {
    s->prev = nullptr;
    s->next = head;
    if (head) head->prev = s;
    else tail = s;
    head = s;
    ++length;
  }
  // At the far end from pop: a slab pushed here is taken after every slab already listed.
  void push_back(Slab* s) {
    s->next = nullptr;
    s->prev = tail;
    if (tail) tail->next = s;
    else head = s;
    tail = s;
    ++length;
  }
  void remove(Slab* s) {
    if (s->prev) s->prev->next = s->next;
    else head = s->next;
    if (s->next) s->next->prev = s->prev;
    else tail = s->prev;
    s->prev = s->next = nullptr;
    --length;
  }
  Slab* pop() {
    Slab* s = head;
    if (s) remove(s);
    return s;
  }
};

}  // namespace hm::slab
