#include "fixtures.h"
void registerTests() {}
