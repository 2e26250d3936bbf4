#ifndef LIFEBOAT_VERSION_H
#define LIFEBOAT_VERSION_H
#define LB_VERSION "0.1.0"
#endif
