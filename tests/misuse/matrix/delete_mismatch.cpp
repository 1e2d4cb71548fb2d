// C++ deallocation that does not match the allocation, on objects making up about SIZE bytes.
// KIND 1: new T[] freed by delete; 2: new T freed by delete[]; 3: a Derived deleted through a
// Base pointer without a virtual destructor (the sized delete is told sizeof(Base)).
// T has a destructor (it clears its first byte), so new[] keeps an element count before the array.
#include "matrix.h"

constexpr int kObj = SIZE < 64 ? 8 : 64;
struct T {
  char b[kObj];
  ~T() { b[0] = 0; }
};
struct Base {
  char b[8];
};
struct Derived : Base {
  char more[SIZE];
};

int main() {
#if KIND == 1
  T* p = new T[SIZE / kObj];
  delete reinterpret_cast<T*>(launder(p));
#elif KIND == 2
  struct Big {
    T t[SIZE / kObj];
  };
  T* p = reinterpret_cast<T*>(new Big);
  delete[] reinterpret_cast<T*>(launder(p));
#elif KIND == 3
  Base* p = new Derived;
  delete reinterpret_cast<Base*>(launder(p));
#endif
  churn(SIZE);
  missed();
}
