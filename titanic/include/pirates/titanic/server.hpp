#pragma once
// The former name of titanic.hpp (titanic::Server is titanic::Titanic).
#include <pirates/titanic/titanic.hpp>
