import unittest

from util.lists import first, last


class ListsTest(unittest.TestCase):
    def test_first(self):
        self.assertEqual(first([1, 2, 3]), 1)

    def test_last(self):
        self.assertEqual(last([1, 2, 3]), 3)


if __name__ == "__main__":
    unittest.main()
