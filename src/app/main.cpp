#include "run.h"

int main(int argc, char** argv)
{
    return palaver::app::run(argc, argv);
}
